"""Grouping (pure), the heart of "no leakage": what must go to one split together.

A group is one source's original and augmentations; ``--group-pattern`` merges sources
(one site, one night), and so does one content under two names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import UsageError
from ..formats.pool_reader import PoolFile


@dataclass(frozen=True)
class Group:
    """Files that go to one split together: related originals and their augmentations.

    ``key`` is unique within the class.
    """

    key: str
    files: tuple[PoolFile, ...]


def compile_group_pattern(text: str | None) -> re.Pattern[str] | None:
    """The ``--group-pattern`` regex, or ``UsageError`` repeating it when invalid."""
    if text is None:
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError(f"the group pattern {text!r} is not a valid regular expression ({exc})") from None


def pattern_key(source: str, pattern: re.Pattern[str]) -> str | None:
    """What ``pattern`` finds in a source path: its first group, else the whole match.

    None when it finds nothing, or only an empty string (which would merge everything).
    """
    m = pattern.search(source)
    if m is None:
        return None
    return (m.group(1) if pattern.groups else m.group(0)) or None


@dataclass(frozen=True)
class Grouping:
    """A class's groups, sorted by key, and what merged or failed to merge them."""

    groups: list[Group]
    unmatched: int  # originals whose source the group pattern does not match
    copies: int  # originals with the content of an earlier original of the class


def group_class(files: Iterable[PoolFile], *, pattern: re.Pattern[str] | None = None,
                content: Mapping[str, str] | None = None) -> Grouping:
    """Group a class's files so that nothing derived from one recording is split up.

    A group is one source's original and augmentations; sources whose path gives one
    ``pattern`` key are merged, and so are sources whose originals have one sha256 (one
    recording copied twice) or one content: ``content`` maps an original's name to the
    name of the first original with its fingerprint (one recording re-encoded,
    resampled or at another gain). A merged group's key is the smallest of its keys.
    """
    files = list(files)
    key_of: dict[str, str] = {}
    no_match: set[str] = set()
    for f in files:
        if f.source not in key_of:
            found = pattern_key(f.source, pattern) if pattern is not None else f.source
            if found is None:
                no_match.add(f.source)
            key_of[f.source] = found or f.source
    unmatched = {f.source for f in files if not f.is_augmented and f.source in no_match}
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while key in parent:
            key = parent[key]
        return key

    def merge(a: str, b: str) -> None:
        a, b = root(a), root(b)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first_with: dict[str, str] = {}
    copied: set[str] = set()
    source_of = {f.name: f.source for f in files if not f.is_augmented}
    for f in files:
        if f.sha256 is None:
            continue
        if f.sha256 in first_with:
            copied.add(f.name)
        merge(key_of[f.source], first_with.setdefault(f.sha256, key_of[f.source]))
    for name, first in sorted((content or {}).items()):
        if name != first and name in source_of and first in source_of:
            copied.add(name)
            merge(key_of[source_of[name]], key_of[source_of[first]])
    copies = len(copied)
    members: dict[str, list[PoolFile]] = {}
    for f in files:
        members.setdefault(root(key_of[f.source]), []).append(f)
    groups = [Group(k, tuple(sorted(v, key=lambda f: f.name))) for k, v in sorted(members.items())]
    return Grouping(groups, len(unmatched), copies)
