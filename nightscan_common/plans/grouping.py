"""Grouping (pure), the heart of "no leakage": what must go to one split together, over all classes.

A group is keyed by what ties files together, never by class: the recording (an
original's ``<class>/<source>``, the long recording a window was cut from, or the
recording an annotation clip was cut from, which may hold events of several classes);
with ``--group-pattern``, the pattern's key on the source path (one site, one night, for
every class); and one content under two names, in one class or in two, joins one group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..errors import UsageError
from ..formats.pool_reader import PoolFile


@dataclass(frozen=True)
class Group:
    """One class's files of a group: related originals and their augmentations.

    ``key`` is the group's key over the whole pool (the same in every class it holds).
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


def recording_of(class_name: str, source: str, *, root_relative: bool = False) -> str:
    """The recording a file comes from, relative to the audio root: ``<class>/<source>``, or
    ``source`` itself when sources are relative to the root (annotation clips)."""
    return source if root_relative else f"{class_name}/{source}"


@dataclass(frozen=True, kw_only=True)
class Grouping:
    """One class's groups, sorted by key, and what merged or failed to merge them.

    ``shared`` holds the keys of its groups that hold files of other classes too.
    """

    groups: list[Group]
    unmatched: int  # originals whose source the group pattern does not match
    copies: int  # originals with the content of an earlier original of the class
    shared: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class PoolGrouping:
    """Every class's groups, and the groups that hold several classes (key -> class -> files)."""

    classes: dict[str, Grouping]
    shared: dict[str, dict[str, int]]
    sites: dict[str, str]  # recording -> its --group-pattern key (matched recordings only)
    root_relative: bool = False

    def recording(self, class_name: str, f: PoolFile) -> str:
        return recording_of(class_name, f.source, root_relative=self.root_relative)


class _Keys:
    """Union-find over group keys: a merged group's key is the smallest of its keys."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def root(self, key: str) -> str:
        while key in self.parent:
            key = self.parent[key]
        return key

    def merge(self, a: str, b: str) -> None:
        a, b = self.root(a), self.root(b)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def group_pool(classes: Mapping[str, Sequence[PoolFile]], *, pattern: re.Pattern[str] | None = None,
               content: Mapping[str, str] | None = None, root_relative: bool = False) -> PoolGrouping:
    """Group a pool's files so that nothing tied to one recording, site or content is split up.

    A group is one recording's originals and augmentations; recordings whose source gives
    one ``pattern`` key are merged, whatever their class, and so are recordings whose
    originals have one sha256 (one recording copied twice) or one content: ``content``
    maps an original's ``<class>/<name>`` to the ``<class>/<name>`` of the first original
    with its fingerprint (one recording re-encoded, resampled or at another gain).
    """
    key_of, sites, unmatched = _recording_keys(classes, pattern, root_relative)
    keys = _Keys()
    first_with: dict[str, str] = {}
    copied: dict[str, set[str]] = {c: set() for c in classes}
    owner: dict[str, str] = {}  # "<class>/<name>" of an original -> its recording's key
    for c, files in classes.items():
        for f in files:
            if f.is_augmented:
                continue
            key = key_of[recording_of(c, f.source, root_relative=root_relative)]
            owner[f"{c}/{f.name}"] = key
            if f.sha256 is None:
                continue
            first = first_with.setdefault(f.sha256, f"{c}/{f.name}")
            if first != f"{c}/{f.name}":
                if first.split("/", 1)[0] == c:
                    copied[c].add(f.name)
                keys.merge(key, owner[first])
    for name, first in sorted((content or {}).items()):
        if name != first and name in owner and first in owner:
            c = name.split("/", 1)[0]
            if first.split("/", 1)[0] == c:
                copied[c].add(name.split("/", 1)[1])
            keys.merge(owner[name], owner[first])
    members: dict[str, dict[str, list[PoolFile]]] = {}
    for c, files in classes.items():
        for f in files:
            key = keys.root(key_of[recording_of(c, f.source, root_relative=root_relative)])
            members.setdefault(key, {}).setdefault(c, []).append(f)
    shared = {k: {c: len(v) for c, v in sorted(by_class.items())}
              for k, by_class in sorted(members.items()) if len(by_class) > 1}
    per_class: dict[str, list[Group]] = {c: [] for c in classes}
    for k in sorted(members):
        for c, files in members[k].items():
            per_class[c].append(Group(k, tuple(sorted(files, key=lambda f: f.name))))
    out = {c: Grouping(groups=per_class[c], unmatched=unmatched.get(c, 0), copies=len(copied[c]),
                       shared=frozenset(g.key for g in per_class[c] if g.key in shared)) for c in classes}
    return PoolGrouping(classes=out, shared=shared, sites=sites, root_relative=root_relative)


def _recording_keys(classes: Mapping[str, Sequence[PoolFile]], pattern: re.Pattern[str] | None,
                    root_relative: bool) -> tuple[dict[str, str], dict[str, str], dict[str, int]]:
    """Each recording's first key (its pattern key, or itself), the pattern keys found, and how
    many originals of each class the pattern does not match."""
    key_of: dict[str, str] = {}
    sites: dict[str, str] = {}
    no_match: set[str] = set()
    for c, files in classes.items():
        for f in files:
            recording = recording_of(c, f.source, root_relative=root_relative)
            if recording in key_of:
                continue
            found = pattern_key(f.source, pattern) if pattern is not None else recording
            if found is None:
                no_match.add(recording)
            elif pattern is not None:
                sites[recording] = found
            key_of[recording] = found or recording
    unmatched = {c: len({f.source for f in files if not f.is_augmented
                         and recording_of(c, f.source, root_relative=root_relative) in no_match})
                 for c, files in classes.items()}
    return key_of, sites, unmatched


def group_class(files: Iterable[PoolFile], *, name: str = "", pattern: re.Pattern[str] | None = None,
                content: Mapping[str, str] | None = None) -> Grouping:
    """One class on its own (``group_pool`` of a pool of one class named ``name``)."""
    return group_pool({name: list(files)}, pattern=pattern, content=content).classes[name]
