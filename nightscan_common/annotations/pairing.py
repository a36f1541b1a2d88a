"""Which recording each table (or each row of a table with a path column) belongs to.

In this order: a path column (the path relative to ``--audio-root``, or the longest
tail of it that is); else the table's path relative to its annotation folder with the
table suffix removed, against the recordings' paths relative to ``--audio-root`` without
their extension; else a stem that is unique under ``--audio-root``. Two candidates are
an error naming both; none is a missing recording.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from .formats import TABLE_SUFFIXES

#: The file names a folder given to ``--annotations`` is searched for (any case).
TABLE_EXTENSIONS = (".txt", ".csv", ".tsv")


@dataclass(frozen=True)
class FoundTable:
    """A table file, and its name in messages and for pairing: relative to its annotation folder."""

    path: Path
    name: str


def find_tables(paths: tuple[Path, ...]) -> tuple[list[FoundTable], list[str]]:
    """The tables of ``--annotations`` (files, and folders searched recursively, hidden ones
    left out), sorted by name; and the paths given that do not exist."""
    found, missing = {}, []
    for given in paths:
        if given.is_file():
            found.setdefault(given.name, FoundTable(given, given.name))
        elif given.is_dir():
            for f in sorted(given.rglob("*")):
                rel = f.relative_to(given).as_posix()
                if (f.is_file() and f.name.lower().endswith(TABLE_EXTENSIONS)
                        and not any(p.startswith(".") for p in rel.split("/"))):
                    found.setdefault(rel, FoundTable(f, rel))
        else:
            missing.append(str(given))
    return [found[k] for k in sorted(found)], missing


def table_base(name: str) -> str:
    """``site1/rec.Table.1.selections.txt`` -> ``site1/rec``: the suffix a tool adds, removed."""
    lower = name.lower()
    for suffix in TABLE_SUFFIXES:
        if lower.endswith(suffix.lower()):
            return name[: -len(suffix)]
    return posixpath.splitext(name)[0]


class Recordings:
    """The recordings under ``--audio-root`` (paths relative to it), looked up three ways."""

    def __init__(self, paths: list[str]):
        self.paths = sorted(paths)
        self.all = set(paths)
        self.by_base: dict[str, list[str]] = defaultdict(list)
        self.by_stem: dict[str, list[str]] = defaultdict(list)
        self.by_name: dict[str, list[str]] = defaultdict(list)
        for p in self.paths:
            base = posixpath.splitext(p)[0]
            self.by_base[base.lower()].append(p)
            self.by_stem[posixpath.basename(base).lower()].append(p)
            self.by_name[posixpath.basename(p).lower()].append(p)

    def for_path(self, written: str) -> tuple[str | None, str | None]:
        """(recording, None) for a path column's value, else (None, why not)."""
        value = written.replace("\\", "/").strip()
        parts = [p for p in value.split("/") if p not in ("", ".")]
        for k in range(len(parts)):  # the longest tail that is a recording under the root
            if (tail := "/".join(parts[k:])) in self.all:
                return tail, None
        return _one(self.by_name.get(posixpath.basename(value).lower(), []), written)

    def for_table(self, name: str) -> tuple[str | None, str | None]:
        """(recording, None) for a table without a path column, else (None, why not)."""
        base = table_base(name)
        if found := self.by_base.get(base.lower()):
            return _one(found, name)
        return _one(self.by_stem.get(posixpath.basename(base).lower(), []), posixpath.basename(base))


def _one(candidates: list[str], what: str) -> tuple[str | None, str | None]:
    if len(candidates) == 1:
        return candidates[0], None
    if not candidates:
        return None, f"no recording for {what} under --audio-root"
    return None, (f"two recordings could be {what}: {candidates[0]} and {candidates[1]}"
                  + (f" (and {len(candidates) - 2} more)" if len(candidates) > 2 else "")
                  + "; give a path column or mirror the recordings' folders")
