"""The split invariant, checked on a written index: nothing tied together is in two splits.

Read back from the database itself (``audio_samples`` and ``originals``), never from the
plan that wrote it: every group key, every recording and every ``--group-pattern`` key
(site, night) must map to exactly one split, and for windows and clips of one recording,
no span in one split may overlap a span in another. An index without an ``originals``
table (NightScan's earlier scripts, or before it existed) is checked by group only.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass, field

from .index_db import ORIGINALS, TABLE, connect_read_only

#: How many names the summary line quotes of each kind.
SHOWN = 5


@dataclass(frozen=True, kw_only=True)
class SplitCheck:
    """What straddles splits, by kind (each list sorted), and how many of each were checked."""

    groups: list[str] = field(default_factory=list)
    recordings: list[str] = field(default_factory=list)
    sites: list[str] = field(default_factory=list)
    spans: list[str] = field(default_factory=list)  # "rec: 0-3 s in train overlaps 1.5-4.5 s in test"
    checked: dict[str, int] = field(default_factory=dict)  # groups, recordings, sites, spans

    @property
    def passed(self) -> bool:
        return not (self.groups or self.recordings or self.sites or self.spans)

    def problems(self) -> list[str]:
        """One line per kind that failed, naming a few of them."""
        out = []
        for kind, names in (("group(s)", self.groups), ("recording(s)", self.recordings),
                            ("site key(s)", self.sites)):
            if names:
                more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
                out.append(f"{len(names)} {kind} in more than one split: {', '.join(names[:SHOWN])}{more}")
        if self.spans:
            more = f" and {len(self.spans) - SHOWN} more" if len(self.spans) > SHOWN else ""
            out.append(f"{len(self.spans)} overlap(s) of spans of one recording in two splits: "
                       f"{'; '.join(self.spans[:SHOWN])}{more}")
        return out

    def line(self) -> str:
        """The summary's line, printed beside the leakage check."""
        counted = ", ".join(f"{n} {kind}" for kind, n in self.checked.items())
        state = "passed" if self.passed else "FAILED"
        return f"split check on the written index ({counted}, each in one split): {state}"


def check_index_splits(db_path: str | os.PathLike) -> SplitCheck:
    """Read ``db_path`` back and check the invariant (see the module)."""
    con = connect_read_only(db_path)
    try:
        tables = {name for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        groups = _straddling(con, f"SELECT group_key, COUNT(DISTINCT split) FROM {TABLE} GROUP BY group_key")
        checked = {"groups": groups[1]}
        check = {"groups": groups[0]}
        if ORIGINALS in tables:
            join = (f"FROM {TABLE} a JOIN {ORIGINALS} o ON o.file_path = a.original_file")
            for kind, column, where in (("recordings", "recording", ""),
                                        ("sites", "site", "WHERE o.site IS NOT NULL")):
                names, n = _straddling(con, f"SELECT o.{column}, COUNT(DISTINCT a.split) {join} {where} "
                                            f"GROUP BY o.{column}")
                check[kind], checked[kind] = names, n
            check["spans"], checked["spans"] = _overlaps(con)
        return SplitCheck(**check, checked=checked)
    finally:
        con.close()


def _straddling(con: sqlite3.Connection, sql: str) -> tuple[list[str], int]:
    """Keys of ``sql``'s (key, splits) rows with more than one split, sorted; and how many keys."""
    bad, n = [], 0
    for key, splits in con.execute(sql):
        n += 1
        if splits > 1:
            bad.append(str(key))
    return sorted(bad), n


def _overlaps(con: sqlite3.Connection) -> tuple[list[str], int]:
    """Spans of one recording that overlap across splits, swept in order of their start."""
    rows = con.execute(f"SELECT o.recording, o.start_seconds, o.end_seconds, a.split FROM {ORIGINALS} o "
                       f"JOIN {TABLE} a ON a.file_path = o.file_path WHERE o.start_seconds IS NOT NULL "
                       "AND o.end_seconds IS NOT NULL ORDER BY o.recording, o.start_seconds, o.end_seconds")
    found: list[str] = []
    n = 0
    current, reach = None, {}
    for recording, start, end, split in rows:
        n += 1
        if recording != current:
            current, reach = recording, {}
        for other, (last_start, last_end) in reach.items():
            if other != split and last_end > start:
                found.append(f"{recording}: {_s(last_start)}-{_s(last_end)} s in {other} overlaps "
                             f"{_s(start)}-{_s(end)} s in {split}")
        if split not in reach or end > reach[split][1]:
            reach[split] = (start, end)
    return found, n


def _s(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")
