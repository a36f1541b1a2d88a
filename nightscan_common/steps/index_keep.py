"""Step 2's ``--keep-splits-from``: an older index read as splits, matched to the new pool by
path and by content, and the new index's difference from it.

A recording renamed, or moved to another class (a label fixed), is the same audio: its
original is found in the old index by sha256, then by content fingerprint, among the
old originals whose path the new pool no longer holds, and its group keeps that split.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..dsp.fingerprint import Fingerprint, group_duplicates
from ..formats.index_db import read_original_contents, read_split_rows
from ..formats.pool_reader import Pool
from ..formats.source_cache import listing_sha256
from ..plans.content_groups import class_of
from ..plans.index_plan import OldSplits, PoolPlan
from ..vocabulary import SPLITS

_OLD, _NEW = "old\x00", "new\x00"


@dataclass(frozen=True, kw_only=True)
class OldIndex:
    """What the new index keeps from: its splits, its rows, its originals' content, a checksum."""

    path: Path
    splits: OldSplits
    rows: list[tuple[str, str, str]]  # (file_path, split, group_key)
    contents: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # path, sha256, print

    @property
    def sha256(self) -> str:
        """Of every (file path, split): which index version the splits were kept from."""
        return listing_sha256((fp, split) for fp, split, _ in self.rows)


def read_old_index(path: str | os.PathLike) -> OldIndex:
    """The older index's splits by file and by group; ``UsageError`` when it is not an index."""
    rows = read_split_rows(path)
    files = {fp: SPLITS.index(split) for fp, split, _ in rows}
    groups = {gk: SPLITS.index(split) for _, split, gk in rows}
    return OldIndex(path=Path(path), splits=OldSplits(files, groups), rows=rows,
                    contents=read_original_contents(path))


@dataclass(frozen=True, kw_only=True)
class ContentMatches:
    """New originals found in the old index under another path: old path -> new path, each
    with the old split; ``relabelled`` when the class changed, else ``renamed``."""

    pairs: dict[str, str]  # new "<class>/<file>" -> the old one
    split_of: dict[str, int]  # new "<class>/<file>" -> old split
    renamed: list[str]
    relabelled: list[str]


def match_by_content(old: OldIndex, pool: Pool) -> ContentMatches:
    """Originals of ``pool`` not in the old index by path, matched to old originals that the
    pool no longer holds: by sha256 first, then by fingerprint (see the module)."""
    in_pool = {f"{c}/{f.name}" for c, files in pool.classes.items() for f in files}
    gone = [(p, s, fp) for p, s, fp in old.contents if p not in in_pool and p in old.splits.files]
    new = [(f"{c}/{f.name}", f.sha256, f.fingerprint) for c, files in pool.classes.items() for f in files
           if not f.is_augmented and f"{c}/{f.name}" not in old.splits.files]
    if not gone or not new:
        return ContentMatches(pairs={}, split_of={}, renamed=[], relabelled=[])
    by_sha: dict[str, str] = {}
    for p, sha, _ in gone:
        if sha:
            by_sha.setdefault(sha, p)
    pairs = {p: by_sha[sha] for p, sha, _ in new if sha and sha in by_sha}
    taken = set(pairs.values())
    prints = {_OLD + p: fp for p, _, fp in gone if fp and p not in taken}
    prints |= {_NEW + p: fp for p, _, fp in new if fp and p not in pairs}
    if any(k.startswith(_OLD) for k in prints) and any(k.startswith(_NEW) for k in prints):
        for names in group_duplicates({k: Fingerprint.from_text(v) for k, v in prints.items()}):
            olds = sorted(n[len(_OLD):] for n in names if n.startswith(_OLD))
            for n in names:
                if olds and n.startswith(_NEW):
                    pairs[n[len(_NEW):]] = olds[0]
    matches = ContentMatches(pairs=pairs, split_of={}, renamed=[], relabelled=[])
    for new_path, old_path in sorted(pairs.items()):
        split = old.splits.files[old_path]
        matches.split_of[new_path] = split
        kind = matches.relabelled if class_of(new_path) != class_of(old_path) else matches.renamed
        kind.append(f"{old_path} -> {new_path} ({SPLITS[split]})")
    return matches


@dataclass(kw_only=True)
class KeepReport:
    """The difference between the new index and the one its splits were kept from."""

    kept_from: str
    groups: dict[str, int] = field(default_factory=dict)  # added, removed, kept, moved
    files: dict[str, int] = field(default_factory=dict)  # added, removed, kept, moved
    moves: list[str] = field(default_factory=list)  # one line per group a merge forced to move
    renamed: list[str] = field(default_factory=list)  # old path -> new path (split), same class
    relabelled: list[str] = field(default_factory=list)  # old path -> new path (split), class changed


def difference(old: OldIndex, plan: PoolPlan, new_rows: Sequence[tuple[str, str, str]],
               matches: ContentMatches) -> KeepReport:
    """Groups and files added, removed, kept and moved; each forced move and each recording
    found by content under another name or class named."""
    report = KeepReport(kept_from=str(old.path), renamed=matches.renamed, relabelled=matches.relabelled)
    moves = []
    kept = plan.kept
    for m in kept.merges:
        parts = ", ".join(f"{SPLITS[s]} ({n} file(s))" for s, n in m.was)
        moves.append(f"{m.key}: merged from {parts} -> {SPLITS[m.split]}, {m.moved} file(s) moved")
    new_files = {fp: split for fp, split, _ in new_rows}
    new_groups = {gk for _, _, gk in new_rows}
    old_groups: dict[str, set[str]] = defaultdict(set)
    for fp, _, gk in old.rows:
        old_groups[gk].add(fp)
    renamed_from = set(matches.pairs.values())
    removed = sum(1 for gk, fps in old_groups.items()
                  if gk not in new_groups and not fps & new_files.keys() and not fps & renamed_from)
    report.groups = {"added": kept.added, "removed": removed, "kept": kept.kept, "moved": len(moves)}
    old_files = {fp: split for fp, split, _ in old.rows}
    common = new_files.keys() & old_files.keys()
    report.files = {"added": len(new_files.keys() - old_files.keys()),
                    "removed": len(old_files.keys() - new_files.keys()),
                    "kept": sum(1 for fp in common if new_files[fp] == old_files[fp]),
                    "moved": sum(1 for fp in common if new_files[fp] != old_files[fp])}
    report.moves = sorted(moves)
    return report
