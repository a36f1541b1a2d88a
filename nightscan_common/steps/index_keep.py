"""Step 2's ``--keep-splits-from``: an older index read as splits, and the new one's difference from it."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..formats.index_db import read_split_rows
from ..formats.source_cache import listing_sha256
from ..plans.index_plan import ClassPlan, OldSplits
from ..vocabulary import SPLITS


@dataclass(frozen=True)
class OldIndex:
    """What the new index keeps from: its splits, its rows, and a checksum of them."""

    path: Path
    splits: OldSplits
    rows: list[tuple[str, str, str]]  # (file_path, split, group_key)

    @property
    def sha256(self) -> str:
        """Of every (file path, split): which index version the splits were kept from."""
        return listing_sha256((fp, split) for fp, split, _ in self.rows)


def read_old_index(path: str | os.PathLike) -> OldIndex:
    """The older index's splits by file and by group; ``UsageError`` when it is not an index."""
    rows = read_split_rows(path)
    files = {fp: SPLITS.index(split) for fp, split, _ in rows}
    groups = {gk: SPLITS.index(split) for _, split, gk in rows}
    return OldIndex(Path(path), OldSplits(files, groups), rows)


@dataclass
class KeepReport:
    """The difference between the new index and the one its splits were kept from."""

    kept_from: str
    groups: dict[str, int] = field(default_factory=dict)  # added, removed, kept, moved
    files: dict[str, int] = field(default_factory=dict)  # added, removed, kept, moved
    moves: list[str] = field(default_factory=list)  # one line per group a merge forced to move


def difference(old: OldIndex, plans: Iterable[ClassPlan], new_rows: Sequence[tuple[str, str, str]],
               ) -> KeepReport:
    """Groups and files added, removed, kept and moved; each forced move named."""
    report = KeepReport(str(old.path))
    moves, kept, added = [], 0, 0
    for cp in plans:
        if cp.kept is None:
            continue
        kept, added = kept + len(cp.kept.kept), added + len(cp.kept.added)
        for m in cp.kept.merges:
            parts = ", ".join(f"{SPLITS[s]} ({n} file(s))" for s, n in m.was)
            moves.append(f"{cp.name}/{cp.grouping.groups[m.group].key}: merged from {parts} -> "
                         f"{SPLITS[m.split]}, {m.moved} file(s) moved")
    new_files = {fp: split for fp, split, _ in new_rows}
    new_groups = {gk for _, _, gk in new_rows}
    old_groups: dict[str, set[str]] = defaultdict(set)
    for fp, _, gk in old.rows:
        old_groups[gk].add(fp)
    removed = sum(1 for gk, fps in old_groups.items() if gk not in new_groups and not fps & new_files.keys())
    report.groups = {"added": added, "removed": removed, "kept": kept, "moved": len(moves)}
    old_files = {fp: split for fp, split, _ in old.rows}
    common = new_files.keys() & old_files.keys()
    report.files = {"added": len(new_files.keys() - old_files.keys()),
                    "removed": len(old_files.keys() - new_files.keys()),
                    "kept": sum(1 for fp in common if new_files[fp] == old_files[fp]),
                    "moved": sum(1 for fp in common if new_files[fp] != old_files[fp])}
    report.moves = sorted(moves)
    return report
