"""``SpectrogramDataset``: step 3's output of one split, any layout, as ``(array, class_index)`` items.

Numpy only: it serves as a PyTorch map-style ``Dataset`` as it is (``__len__`` and
``__getitem__``; the default collate turns the arrays into tensors)::

    from torch.utils.data import DataLoader
    loader = DataLoader(SpectrogramDataset("data/spectrograms_balanced", "train"), batch_size=64,
                        shuffle=True, num_workers=4)

Labels come from ``labels.json``, one map for every split. Arrays are returned as
saved (1 or 3 channels, float32 or float16) and writable; ``transform`` is applied to
each. Open
files, memory maps and database connections are opened in the process that reads,
so the dataset can be sent to loader workers, forked or spawned.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from .errors import UsageError
from .formats import packed_store, webdataset_store
from .formats.index_db import TABLE, connect_read_only
from .formats.labels import read_labels
from .formats.layouts import LAYOUTS

#: The tree layout's one query per item: a lookup by rowid, not NightScan's ``OFFSET``.
ROWID_QUERY = f"SELECT file_path, class_name FROM {TABLE} WHERE id = ?"


class _Rows:
    """One layout's rows. What it holds open is opened on first use in each process and
    never pickled; ``class_index`` is read once, with the rows."""

    _handles: tuple[int, Any] | None = None
    class_index: np.ndarray

    def __len__(self) -> int:
        return len(self.class_index)

    def label(self, i: int) -> int:
        return int(self.class_index[i])

    def item(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def opened(self) -> Any:
        if self._handles is None or self._handles[0] != os.getpid():
            self._handles = (os.getpid(), self.open())
        return self._handles[1]

    def open(self) -> Any:
        raise NotImplementedError

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_handles"}


class _TreeRows(_Rows):
    """One .npy per row; the rows are the index's, in id order, read once by rowid."""

    def __init__(self, out_dir: Path, split: str, labels: dict[str, int], index_db: str | os.PathLike):
        self.out_dir, self.split, self.index_db = out_dir, split, os.path.abspath(index_db)
        if not os.path.isfile(self.index_db):
            raise UsageError(f"index database not found: {index_db}")
        con = self.open()
        try:
            rows = con.execute(f"SELECT id, class_name FROM {TABLE} WHERE split = ? ORDER BY id",
                               (split,)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise UsageError(f"{index_db} is not a NightScan index ({exc})") from None
        finally:
            con.close()
        self.rowids = np.array([r[0] for r in rows], dtype=np.int64)
        self.class_index = _class_indexes([r[1] for r in rows], labels, index_db)

    def open(self) -> sqlite3.Connection:
        return connect_read_only(self.index_db)

    def item(self, i: int) -> np.ndarray:
        file_path, class_name = self.opened().execute(ROWID_QUERY, (int(self.rowids[i]),)).fetchone()
        path = self.out_dir / self.split / class_name / f"{PurePosixPath(file_path).stem}.npy"
        try:
            return np.load(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"no spectrogram for {file_path}: {path} (did step 3 fail on it? "
                                    "see failures.json)") from None


class _PackedRows(_Rows):
    """One memory-mapped array per split; the labels from its CSV.

    Items are views of a copy-on-write mapping: nothing is copied until the loader
    stacks them into a batch, and a transform that writes to one changes it in memory
    only, never the file.
    """

    def __init__(self, out_dir: Path, split: str, labels: dict[str, int]):
        table = packed_store.read_table(out_dir, split)
        self.path = packed_store.array_path(out_dir, split)
        self.class_index = _checked_indexes(table, labels, packed_store.csv_path(out_dir, split))
        rows = self.opened().shape[0]
        if rows != len(self.class_index):
            raise UsageError(f"{self.path} holds {rows} rows but its CSV {len(self.class_index)}: "
                             "rebuild the split")

    def open(self) -> np.ndarray:
        return np.load(self.path, mmap_mode="c").view(np.ndarray)

    def item(self, i: int) -> np.ndarray:
        return self.opened()[i]


class _ShardRows(_Rows):
    """Tar shards, read at the offsets of their members (found once, from the tar headers)."""

    def __init__(self, out_dir: Path, split: str, labels: dict[str, int]):
        webdataset_store.check_finished(out_dir, split)
        self.paths = [str(p) for p in webdataset_store.shard_paths(out_dir, split)]
        where: list[tuple[int, int, int, int, int]] = []
        for number, path in enumerate(self.paths):
            with tarfile.open(path) as tar:
                members = {m.name: m for m in tar}
            for name in sorted(n for n in members if n.endswith(".npy")):
                meta = members.get(name[:-4] + ".json")
                if meta is None:
                    raise UsageError(f"{path}: {name} has no .json beside it")
                npy = members[name]
                where.append((number, meta.offset_data, meta.size, npy.offset_data, npy.size))
        self.where = np.array(where, dtype=np.int64).reshape(-1, 5)
        self.labels = labels

    def __len__(self) -> int:
        return len(self.where)

    def open(self) -> list[int]:
        return [os.open(p, os.O_RDONLY) for p in self.paths]

    def item(self, i: int) -> np.ndarray:
        number, meta_at, meta_size, npy_at, npy_size = (int(v) for v in self.where[i])
        return np.load(io.BytesIO(os.pread(self.opened()[number], npy_size, npy_at)))

    def label(self, i: int) -> int:
        number, meta_at, meta_size = (int(v) for v in self.where[i, :3])
        meta = json.loads(os.pread(self.opened()[number], meta_size, meta_at))
        if self.labels.get(meta["class"]) != meta["class_index"]:
            raise UsageError(f"{self.paths[number]}: {meta['class']!r} has class_index "
                             f"{meta['class_index']}, labels.json says {self.labels.get(meta['class'])}")
        return int(meta["class_index"])


def detect_layout(out_dir: str | os.PathLike, split: str) -> str:
    """The one layout that holds ``split`` in ``out_dir``; ``UsageError`` for none or several."""
    out_dir = Path(out_dir)
    present = {
        "packed": any((out_dir / packed_store.PACKED_DIR / name).exists()
                      for name in (f"{split}.npy", f".{split}.journal")),
        "webdataset": bool(webdataset_store.shard_paths(out_dir, split))
        or webdataset_store.journal_path(out_dir, split).exists(),
        "tree": (out_dir / split).is_dir(),
    }
    found = [name for name in LAYOUTS if present[name]]
    if not found:
        raise UsageError(f"{out_dir} holds no spectrograms of split {split!r}; run step 3 first")
    if len(found) > 1:
        raise UsageError(f"{out_dir} holds split {split!r} in several layouts ({', '.join(found)}); "
                         "pass layout= to choose one")
    return found[0]


class SpectrogramDataset:
    """The rows of one split: ``dataset[i]`` -> ``(array, class_index)``.

    ``layout`` is detected when None. The tree layout's rows are the index's (in id
    order, the order NightScan's loader reads them in), so it needs ``index_db``; the
    other layouts record their rows themselves. ``UnfinishedLayoutError`` (a
    ``UsageError``) for a layout still being built or interrupted.
    """

    def __init__(self, out_dir: str | os.PathLike, split: str, *, layout: str | None = None,
                 transform: Callable[[np.ndarray], Any] | None = None,
                 index_db: str | os.PathLike | None = None):
        out_dir = Path(out_dir)
        self.labels = read_labels(out_dir)
        self.layout = layout or detect_layout(out_dir, split)
        self.transform = transform
        if self.layout == "tree":
            if index_db is None:
                raise UsageError("the tree layout's rows come from the index: pass index_db=")
            self._rows: _Rows = _TreeRows(out_dir, split, self.labels, index_db)
        elif self.layout == "packed":
            self._rows = _PackedRows(out_dir, split, self.labels)
        elif self.layout == "webdataset":
            self._rows = _ShardRows(out_dir, split, self.labels)
        else:
            raise UsageError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")

    @property
    def class_names(self) -> list[str]:
        """Class names by index: ``class_names[class_index]``."""
        return sorted(self.labels, key=self.labels.__getitem__)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> tuple[Any, int]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for {n} rows")
        i %= n
        array = self._rows.item(i)
        return (self.transform(array) if self.transform else array), self._rows.label(i)


def _class_indexes(names: list[str], labels: dict[str, int], source: object) -> np.ndarray:
    missing = sorted(set(names) - set(labels))
    if missing:
        raise UsageError(f"labels.json lacks class(es) {', '.join(missing[:5])} of {source}: "
                         "rerun step 3 with this index")
    return np.array([labels[n] for n in names], dtype=np.int32)


def _checked_indexes(table: Iterable[dict[str, str]], labels: dict[str, int], source: object) -> np.ndarray:
    """The table's class indexes, each checked against labels.json (one pass, for a million rows)."""
    recorded = []
    for row in table:
        index = int(row["class_index"])
        if labels.get(row["class_name"]) != index:
            raise UsageError(f"{source} gives {row['class_name']!r} the class index {index}, labels.json "
                             f"{labels.get(row['class_name'])}: rebuild the split")
        recorded.append(index)
    return np.array(recorded, dtype=np.int32)
