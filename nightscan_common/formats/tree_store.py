"""Today's step 3 layout: one ``<out>/<split>/<class_name>/<stem>.npy`` per key.

These are the very paths NightScan's loader builds. Each file is written to a temporary
name and renamed, so a file's presence means it is complete; a key is done when its
file exists and the manifest says it was made from the job's source. Its reader
(``TreeRows``) serves the index's rows, in id order, as NightScan's loader does.
"""

from __future__ import annotations

import io
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import UsageError
from ..io.atomic_write import remove_temporaries, write_bytes
from ..vocabulary import SPLITS, Job
from .index_db import TABLE, connect_read_only
from .labels import check_labels_of_index
from .layout_registry import Layout, Rows, register
from .spectrogram_store import SourceManifest

SUFFIX = ".npy"
#: The reader's one query per item: a lookup by rowid, not NightScan's ``OFFSET``.
ROWID_QUERY = f"SELECT file_path, class_name FROM {TABLE} WHERE id = ?"


def _own_file(path: Path) -> bool:
    """A file of ours: a regular file, not a link (a link's target may be anyone's)."""
    return os.path.isfile(path) and not os.path.islink(path)


def key_path(root: str | os.PathLike, key: str) -> Path:
    """The file that holds ``key`` below ``root``."""
    *folders, name = key.split("/")
    return Path(root, *folders, name + SUFFIX)


def save_npy(target: str | os.PathLike, array: np.ndarray) -> int:
    """``np.save`` to a temporary beside ``target``, then rename; return the bytes written.

    .. note:: Encoded in memory and written by Python, so that a full disk is an
       ``OSError`` with its errno (numpy's own file writes lose it), which stops the run.
    """
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    data = buffer.getvalue()
    write_bytes(target, data)
    return len(data)


@dataclass(frozen=True)
class TreeWriter:
    """A worker's writer for the tree: one atomic .npy per key."""

    root: str

    def path(self, key: str) -> Path:
        return key_path(self.root, key)

    def put(self, job: Job, array: np.ndarray) -> dict:
        return {"bytes": save_npy(self.path(job.key), array)}


class TreeStore:
    """The .npy tree below ``root``: the only code that knows its paths."""

    layout = "tree"

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._keys: list[str] = []
        self.manifest = SourceManifest(self.root)

    def path(self, key: str) -> Path:
        return key_path(self.root, key)

    def own_files(self, splits: Iterable[str] = SPLITS) -> Iterable[Path]:
        """The ``<split>/<class>/*.npy`` files below the root: what this layout writes.

        Symbolic links to folders are not followed, so nothing outside the folder is reached.
        """
        for split in splits:
            split_dir = self.root / split
            if split_dir.is_symlink() or not split_dir.is_dir():
                continue
            for class_entry in sorted(os.scandir(split_dir), key=lambda e: e.name):
                if not class_entry.is_dir(follow_symlinks=False):
                    continue
                for entry in sorted(os.scandir(class_entry.path), key=lambda e: e.name):
                    if entry.name.endswith(SUFFIX) and entry.is_file(follow_symlinks=False):
                        yield Path(entry.path)

    def holds_output(self) -> bool:
        return next(iter(self.own_files()), None) is not None

    def prepare(self, jobs: Sequence[Job], *, overwrite: bool) -> None:
        """Remember the run's keys and read the manifest; folders are made as files are written."""
        self._keys = [job.key for job in jobs]
        self.manifest.load()

    def done(self, jobs: Sequence[Job]) -> set[str]:
        """Keys whose file is there, made from the job's source, and a file of ours: a link is
        not (``own_files`` agrees), and the rename of a fresh file replaces the link, not what
        it leads to."""
        made = self.manifest.made_from
        return {job.key for job in jobs
                if made.get(job.key) == job.source_id and _own_file(self.path(job.key))}

    def stale(self, jobs: Sequence[Job]) -> set[str]:
        made = self.manifest.made_from
        return {job.key for job in jobs if made.get(job.key) != job.source_id and self.path(job.key).exists()}

    def writer(self) -> TreeWriter:
        return TreeWriter(str(self.root.resolve()))  # sent to workers, whatever their folder

    def record(self, job: Job, receipt: dict) -> None:
        """The worker renamed the file into place; note what it was made from."""
        self.manifest.add(job.key, job.source_id)

    def finalize(self) -> None:
        """Every file was complete when it appeared; the manifest keeps the files held."""
        self.manifest.compact(self._key_of(p) for p in self.own_files())

    def _key_of(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()[: -len(SUFFIX)]

    def sweep(self) -> int:
        """Remove the temporaries of writers that were killed; return how many."""
        return remove_temporaries(self.root)

    def remove_own(self) -> int:
        """Delete every .npy of ours, our temporaries, then the folders left empty.

        .. note:: Other files stay, and so do the folders that hold them.
        """
        removed = 0
        for path in list(self.own_files()):
            path.unlink()
            removed += 1
        self.manifest.remove()
        self.sweep()
        self._remove_empty_folders()
        return removed

    def _remove_empty_folders(self) -> None:
        for split in SPLITS:
            split_dir = self.root / split
            if split_dir.is_symlink() or not split_dir.is_dir():
                continue
            for class_dir in split_dir.iterdir():
                if class_dir.is_dir() and not class_dir.is_symlink() and not any(class_dir.iterdir()):
                    class_dir.rmdir()
            if not any(split_dir.iterdir()):
                split_dir.rmdir()

    def bytes_on_disk(self) -> int:
        """Disk space of the run's spectrograms (blocks, not lengths)."""
        total = 0
        for key in self._keys:
            try:
                total += self.path(key).stat().st_blocks * 512
            except FileNotFoundError:
                pass
        return total

    def remove_unlisted(self, splits: Sequence[str]) -> int:
        """Delete the spectrograms in ``splits`` that the run's keys do not name; return how many.

        They come from rows an older index held: a loader walking the tree must not find them.
        """
        keys = set(self._keys)
        stale = [path for path in self.own_files(splits) if self._key_of(path) not in keys]
        for path in stale:
            path.unlink()
        if stale:
            self._remove_empty_folders()
        return len(stale)

    def read(self, key: str) -> np.ndarray:
        return np.load(self.path(key), allow_pickle=False)


class TreeRows(Rows):
    """One .npy per row; the rows are the index's, in id order, read once by rowid.

    ``labels.json`` must number the index's classes (all splits) as step 3 did: a map
    edited by hand, or an index other than step 3's, is refused rather than shifting labels.
    """

    def __init__(self, out_dir: Path, split: str, labels: Mapping[str, int],
                 index_db: str | os.PathLike | None):
        if index_db is None:
            raise UsageError("the tree layout's rows come from the index: pass index_db=")
        self.out_dir, self.split, self.index_db = Path(out_dir), split, os.path.abspath(index_db)
        if not os.path.isfile(self.index_db):
            raise UsageError(f"index database not found: {index_db}")
        con = self.open()
        try:
            rows = con.execute(f"SELECT id, class_name FROM {TABLE} WHERE split = ? ORDER BY id",
                               (split,)).fetchall()
            every_class = {name for (name,) in con.execute(f"SELECT DISTINCT class_name FROM {TABLE}")}
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{index_db} is not a NightScan index ({exc})") from None
        finally:
            con.close()
        check_labels_of_index(out_dir, labels, every_class, index_db)
        self.rowids = np.array([r[0] for r in rows], dtype=np.int64)
        self.class_index = np.array([labels[r[1]] for r in rows], dtype=np.int32)

    def open(self) -> sqlite3.Connection:
        return connect_read_only(self.index_db)

    def item(self, i: int) -> np.ndarray:
        file_path, class_name = self.opened().execute(ROWID_QUERY, (int(self.rowids[i]),)).fetchone()
        path = self.out_dir / self.split / class_name / f"{PurePosixPath(file_path).stem}{SUFFIX}"
        try:
            return np.load(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"no spectrogram for {file_path}: {path} (did step 3 fail on it? "
                                    "see failures.json)") from None

    def read(self, key: str) -> np.ndarray | None:
        path = key_path(self.out_dir, key)
        return np.load(path, allow_pickle=False) if _own_file(path) else None


def _holds(out_dir: Path, split: str) -> bool:
    return (out_dir / split).is_dir()


LAYOUT = register(Layout(
    name="tree", help="one .npy per file, <split>/<class>/<stem>.npy, what NightScan's loader reads",
    make_store=lambda facts: TreeStore(facts.out_dir), open_rows=TreeRows, holds=_holds, needs_index=True,
    rank=0))
