"""The SQLite index's schema, written by step 2 and read by step 3 and the training loader.

NightScan's loader reads ``SELECT * FROM audio_samples WHERE split = ?`` and the
columns ``file_path`` (``<class>/<file name>``, relative to the pool), ``class_name``
and ``split``: those names never change. Indexes written by NightScan's earlier
scripts have the same table without ``group_key`` and without ``index_info``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import NightScanError, UsageError
from ..io.atomic_write import atomic_path
from .pool_metadata import parse_pool_filename

FORMAT_VERSION = 1
TABLE = "audio_samples"
#: One row per original of the index: the recording it is (or was cut from, relative to the
#: audio root), its ``--group-pattern`` key, its span in that recording in seconds (NULL for
#: a whole recording), and its content (sha256, fingerprint), which ``--keep-splits-from``
#: matches a renamed or relabelled recording by. Indexes before it have no such table.
ORIGINALS = "originals"
SPLITS = ("train", "val", "test")
#: The ``index_info`` key of the checksum of the pool metadata an index was made from.
POOL_SHA_KEY = "pool_metadata_sha256"

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
CREATE TABLE {ORIGINALS} (
    file_path TEXT PRIMARY KEY,
    recording TEXT NOT NULL,
    site TEXT,
    start_seconds REAL,
    end_seconds REAL,
    sha256 TEXT,
    fingerprint TEXT
);
"""
COLUMNS = ("file_path", "class_name", "is_augmented", "original_file", "augmentation_type",
           "split", "group_key")
_INSERT = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
ORIGINAL_COLUMNS = ("file_path", "recording", "site", "start_seconds", "end_seconds", "sha256", "fingerprint")
_INSERT_ORIGINAL = (f"INSERT INTO {ORIGINALS} ({', '.join(ORIGINAL_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * len(ORIGINAL_COLUMNS))})")


#: What a reading step says of an index it cannot use.
_REMEDY = "give an index written by create_balanced_index.py, or rebuild it"


@dataclass(frozen=True)
class IndexRow:
    """The three columns that spectrogram generation needs from any index."""

    file_path: str
    class_name: str
    split: str


def row_problem(file_path: object, class_name: object, split: object) -> str | None:
    """Why a row's three columns cannot name a spectrogram safely, or None.

    Index rows come from a file anyone can edit: values that are not text, ``..``,
    absolute paths and NUL are refused rather than followed.
    """
    for name, value in (("file_path", file_path), ("class_name", class_name)):
        if not isinstance(value, str) or not value:
            return f"{name} is not a non-empty text ({value!r})"
        if "\x00" in value:
            return f"{name} holds a NUL character"
    if file_path.startswith("/"):
        return f"file_path is absolute ({file_path!r}); the index holds paths relative to the pool"
    if any(part in ("", ".", "..") for part in file_path.split("/")):
        return f"file_path is not a plain relative path ({file_path!r}): it could escape the pool"
    if "/" in class_name or class_name in (".", ".."):
        return f"class_name is not a plain folder name ({class_name!r}): it could escape the output"
    if split not in SPLITS:
        return f"split is not one of {', '.join(SPLITS)} ({split!r})"
    return None


def split_row_problem(file_path: object, split: object, group_key: object) -> str | None:
    """Why a row cannot say which split a file and its group are in (``--keep-splits-from``),
    or None: its file path and group must be non-empty text, its split one of ``SPLITS``."""
    for name, value in (("file_path", file_path), ("group_key", group_key)):
        if not isinstance(value, str) or not value:
            return f"{name} is not a non-empty text ({value!r})"
    if not isinstance(split, str) or split not in SPLITS:
        return f"split is not one of {', '.join(SPLITS)} ({split!r})"
    return None


def _bad_row(db_path: str | os.PathLike, rowid: object, file_path: object, problem: str) -> UsageError:
    return UsageError(f"{db_path}: row {rowid} ({file_path!r}): {problem}; {_REMEDY}")


def _columns(con: sqlite3.Connection) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info({TABLE})")}


def read_index_rows(db_path: str | os.PathLike, splits: tuple[str, ...] = SPLITS) -> list[IndexRow]:
    """Rows of ``audio_samples`` in the given splits, ordered by split, class, path.

    Works on indexes from NightScan's earlier scripts too. ``UsageError`` for a file
    that is not such a database.
    """
    if not os.path.isfile(db_path):
        raise UsageError(f"index database not found: {db_path}")
    try:
        con = connect_read_only(db_path)
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


def write_index(db_path: str | os.PathLike, rows: Iterable[tuple],
                info: Mapping[str, str], *, originals: Iterable[tuple] = ()) -> int:
    """Write a whole index (schema, ``rows`` in ``COLUMNS`` order, ``info``, ``originals`` in
    ``ORIGINAL_COLUMNS`` order); return the rows.

    The database is built in a temporary file beside ``db_path`` and renamed onto it, so
    journaling and syncing during the build buy nothing: they are off, and the file is
    synced once before the rename. An existing ``db_path`` is replaced.
    """
    with atomic_path(db_path) as tmp:
        con = sqlite3.connect(tmp)
        try:
            con.execute("PRAGMA journal_mode=OFF")
            con.execute("PRAGMA synchronous=OFF")
            con.executescript(SCHEMA)
            count = con.executemany(_INSERT, rows).rowcount
            con.executemany(_INSERT_ORIGINAL, originals)
            con.executemany("INSERT INTO index_info (key, value) VALUES (?, ?)", sorted(info.items()))
            con.commit()
        except sqlite3.Error as exc:  # a full disk, mostly: a message, not a traceback
            raise NightScanError(f"cannot write the index {db_path} ({exc}); free space or fix "
                                 "permissions and rerun") from None
        finally:
            con.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return count


def connect_read_only(db_path: str | os.PathLike) -> sqlite3.Connection:
    """The one read-only connection to an index: never creates or changes a file.

    A ``file:`` URI with the path percent-quoted, so that ``?``, ``#``, ``%`` and spaces
    in a folder name are part of the path, not of the URI's query or fragment.
    A WAL-mode index would get ``-wal`` and ``-shm`` files created beside it by a plain
    read-only open: without a ``-wal`` file beside it (nothing to replay), it is opened
    ``immutable``, which creates nothing.
    """
    path = Path(db_path).absolute()
    if os.path.lexists(f"{path}-wal"):
        return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    return sqlite3.connect(f"{path.as_uri()}?mode=ro&immutable=1", uri=True)


def read_split_rows(db_path: str | os.PathLike) -> list[tuple[str, str, str]]:
    """``(file_path, split, group_key)`` of every row, sorted; an earlier index's group is its
    ``original_file``. ``UsageError`` for a file that is not an index, and one naming the
    first row that ``split_row_problem`` refuses or whose file is in two splits."""
    if not os.path.isfile(db_path):
        raise UsageError(f"index database not found: {db_path}")
    try:
        con = connect_read_only(db_path)
        try:
            columns = _columns(con)
            group = "group_key" if "group_key" in columns else "original_file"
            cur = con.execute(f"SELECT rowid, file_path, split, {group} FROM {TABLE} ORDER BY rowid")
            rows, split_of = [], {}
            for rowid, file_path, split, group_key in cur:
                if problem := split_row_problem(file_path, split, group_key):
                    raise _bad_row(db_path, rowid, file_path, problem)
                if split_of.setdefault(file_path, split) != split:
                    raise _bad_row(db_path, rowid, file_path, f"the file is in {split_of[file_path]} too")
                rows.append((file_path, split, group_key))
            return sorted(rows)
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{db_path} is not a NightScan index ({exc})") from None


def read_index_info(db_path: str | os.PathLike) -> dict[str, str] | None:
    """An index's ``index_info`` as a dict, or None for a file that is not such an index."""
    try:
        con = connect_read_only(db_path)
        try:
            return dict(con.execute("SELECT key, value FROM index_info"))
        finally:
            con.close()
    except sqlite3.Error:
        return None


def count_leaking_groups(db_path: str | os.PathLike) -> int:
    """Groups found in more than one split, counted in the database itself: must be 0."""
    con = connect_read_only(db_path)
    try:
        return con.execute(f"SELECT COUNT(*) FROM (SELECT group_key FROM {TABLE} GROUP BY group_key "
                           "HAVING COUNT(DISTINCT split) > 1)").fetchone()[0]
    finally:
        con.close()


def split_counts(db_path: str | os.PathLike) -> dict[tuple[str, str, int], int]:
    """Rows per (class, split, is_augmented), as the database holds them."""
    con = connect_read_only(db_path)
    try:
        cur = con.execute(f"SELECT class_name, split, is_augmented, COUNT(*) FROM {TABLE} "
                          "GROUP BY class_name, split, is_augmented")
        return {(c, s, a): n for c, s, a, n in cur}
    finally:
        con.close()


@dataclass(frozen=True)
class SampleDetails:
    """What the training layouts record of a row beyond its path."""

    class_name: str
    group_key: str
    is_augmented: bool


def read_sample_details(db_path: str | os.PathLike) -> dict[str, SampleDetails]:
    """``file_path`` -> its class, its group and whether it is augmented, for every usable row
    (rows that ``row_problem`` refuses are left out: step 3 lists them as failures).

    An index from NightScan's earlier scripts has no ``group_key``: its rows are grouped
    by ``original_file``, which is what a group is there (an original and its copies).
    An index with only the three columns the loader reads groups a file with the others
    of its pool name's stem, and takes ``is_augmented`` from its name (``_augNNN_``).
    ``UsageError`` when two usable rows give one file two classes.
    """
    con = connect_read_only(db_path)
    try:
        columns = _columns(con)
        group = next((c for c in ("group_key", "original_file") if c in columns), "NULL")
        augmented = "is_augmented" if "is_augmented" in columns else "NULL"
        cur = con.execute(f"SELECT rowid, file_path, class_name, split, {group}, {augmented} FROM {TABLE} "
                          "ORDER BY rowid")
        details: dict[str, SampleDetails] = {}
        for rowid, path, name, split, key, aug in cur:
            if row_problem(path, name, split):
                continue
            found = SampleDetails(name, *_group_and_augmented(path, key, aug))
            if details.setdefault(path, found).class_name != name:
                raise _bad_row(db_path, rowid, path, f"the file is in class {details[path].class_name!r} too")
        return details
    finally:
        con.close()


def _group_and_augmented(file_path: str, group_key: object, is_augmented: object) -> tuple[str, bool]:
    """A row's group and augmented flag, from its columns where it has them, else from its name."""
    parsed = parse_pool_filename(file_path.rsplit("/", 1)[-1])
    if group_key is None or group_key == "":
        group_key = f"{file_path.rsplit('/', 1)[0]}/{parsed.stem}" if parsed else file_path
    if is_augmented is None:
        is_augmented = parsed.is_augmented if parsed else False
    return str(group_key), bool(is_augmented)


def read_class_names(db_path: str | os.PathLike) -> list[str]:
    """Every class of the index, over all splits, sorted by name."""
    con = connect_read_only(db_path)
    try:
        return sorted(name for (name,) in con.execute(f"SELECT DISTINCT class_name FROM {TABLE}")
                      if isinstance(name, str) and name)
    finally:
        con.close()


def read_original_contents(db_path: str | os.PathLike) -> list[tuple[str, str | None, str | None]]:
    """``(file_path, sha256, fingerprint)`` of every original the ``originals`` table holds,
    sorted (a value that is not text counts as unknown; a row without a text path is
    skipped); [] for an index without that table. ``UsageError`` for a file that is not an
    index."""
    try:
        con = connect_read_only(db_path)
        try:
            tables = {n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if ORIGINALS not in tables:
                return []
            rows = con.execute(f"SELECT file_path, sha256, fingerprint FROM {ORIGINALS}")
            return sorted((p, s if isinstance(s, str) else None, f if isinstance(f, str) else None)
                          for p, s, f in rows if isinstance(p, str))
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{db_path} is not a NightScan index ({exc})") from None
def group_counts(db_path: str | os.PathLike) -> dict[tuple[str, str], int]:
    """Distinct groups per (class, split), as the database holds them."""
    con = connect_read_only(db_path)
    try:
        cur = con.execute(f"SELECT class_name, split, COUNT(DISTINCT group_key) FROM {TABLE} "
                          "GROUP BY class_name, split")
        return {(c, s): n for c, s, n in cur}
    finally:
        con.close()


def leaking_group_keys(db_path: str | os.PathLike) -> list[str]:
    """The groups found in more than one split, sorted (``count_leaking_groups`` counts them)."""
    con = connect_read_only(db_path)
    try:
        return [k for (k,) in con.execute(f"SELECT group_key FROM {TABLE} GROUP BY group_key "
                                          "HAVING COUNT(DISTINCT split) > 1 ORDER BY group_key")]
    finally:
        con.close()


def splits_of(db_path: str | os.PathLike, file_paths: Iterable[str]) -> dict[str, str]:
    """The split of each of some files (``<class>/<name>``); absent ones are left out."""
    wanted = list(file_paths)
    con = connect_read_only(db_path)
    try:
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            found |= dict(con.execute(f"SELECT file_path, split FROM {TABLE} WHERE file_path IN "
                                      f"({','.join('?' * len(chunk))})", chunk))
        return found
    finally:
        con.close()
