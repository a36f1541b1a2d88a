"""The SQLite index's schema, written by step 2 and read by step 3 and the training loader.

NightScan's loader reads ``SELECT * FROM audio_samples WHERE split = ?`` and the
columns ``file_path`` (``<class>/<file name>``, relative to the pool), ``class_name``
and ``split``: those names never change. Indexes written by NightScan's earlier
scripts have the same table without ``group_key`` and without ``index_info``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass

from ..errors import UsageError

FORMAT_VERSION = 1
TABLE = "audio_samples"
SPLITS = ("train", "val", "test")

SCHEMA = f"""
CREATE TABLE {TABLE} (
    id INTEGER PRIMARY KEY,
    file_path TEXT NOT NULL UNIQUE,
    class_name TEXT NOT NULL,
    is_augmented INTEGER NOT NULL CHECK (is_augmented IN (0, 1)),
    original_file TEXT NOT NULL,
    augmentation_type TEXT,
    split TEXT NOT NULL CHECK (split IN ('train', 'val', 'test')),
    group_key TEXT NOT NULL
);
CREATE INDEX idx_{TABLE}_class_name ON {TABLE}(class_name);
CREATE INDEX idx_{TABLE}_split ON {TABLE}(split);
CREATE INDEX idx_{TABLE}_is_augmented ON {TABLE}(is_augmented);
CREATE TABLE index_info (key TEXT PRIMARY KEY, value TEXT);
"""


@dataclass(frozen=True)
class IndexRow:
    """The three columns that spectrogram generation needs from any index."""

    file_path: str
    class_name: str
    split: str


def read_index_rows(db_path: str | os.PathLike, splits: tuple[str, ...] = SPLITS) -> list[IndexRow]:
    """Rows of ``audio_samples`` in the given splits, ordered by split, class, path.

    Works on indexes from NightScan's earlier scripts too. ``UsageError`` for a file
    that is not such a database.
    """
    if not os.path.isfile(db_path):
        raise UsageError(f"index database not found: {db_path}")
    try:
        con = sqlite3.connect(f"file:{os.path.abspath(db_path)}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise UsageError(f"cannot open index database {db_path}: {exc}") from None
    try:
        marks = ",".join("?" * len(splits))
        cur = con.execute(
            f"SELECT file_path, class_name, split FROM {TABLE} WHERE split IN ({marks}) "
            "ORDER BY split, class_name, file_path", tuple(splits))
        return [IndexRow(*row) for row in cur]
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{db_path} is not a NightScan index (no readable table "
                         f"{TABLE} with file_path, class_name, split: {exc})") from None
    finally:
        con.close()


@dataclass(frozen=True)
class SampleDetails:
    """What the training layouts record of a row beyond its path."""

    class_name: str
    group_key: str
    is_augmented: bool


def read_sample_details(db_path: str | os.PathLike) -> dict[str, SampleDetails]:
    """``file_path`` -> its class, its group and whether it is augmented, for every row.

    An index from NightScan's earlier scripts has no ``group_key``: its rows are grouped
    by ``original_file``, which is what a group is there (an original and its copies).
    """
    con = sqlite3.connect(f"file:{os.path.abspath(db_path)}?mode=ro", uri=True)
    try:
        columns = {row[1] for row in con.execute(f"PRAGMA table_info({TABLE})")}
        group = "group_key" if "group_key" in columns else "original_file"
        cur = con.execute(f"SELECT file_path, class_name, {group}, is_augmented FROM {TABLE}")
        return {path: SampleDetails(str(name), str(key), bool(aug)) for path, name, key, aug in cur}
    finally:
        con.close()


def read_class_names(db_path: str | os.PathLike) -> list[str]:
    """Every class of the index, over all splits, sorted by name."""
    con = sqlite3.connect(f"file:{os.path.abspath(db_path)}?mode=ro", uri=True)
    try:
        return sorted(name for (name,) in con.execute(f"SELECT DISTINCT class_name FROM {TABLE}")
                      if isinstance(name, str) and name)
    finally:
        con.close()
