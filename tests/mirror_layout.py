"""A layout of one's own, in one file: the tree's .npy files under ``<out>/mirror/``, read
without the index (each label from its class folder).

Registered for a while by ``registered()``, it is written by step 3 (``--layout mirror``),
read by ``SpectrogramDataset`` and shown by the report, as the built-in layouts are.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

from nightscan_common.errors import UsageError
from nightscan_common.formats.layout_registry import Layout, Rows, register, unregister
from nightscan_common.formats.tree_store import SUFFIX, TreeStore, key_path

FOLDER = "mirror"


class MirrorStore(TreeStore):
    """The tree's store, one folder down."""

    layout = "mirror"


class MirrorRows(Rows):
    """A split's files in key order."""

    def __init__(self, out_dir: Path, split: str, labels: Mapping[str, int],
                 index_db: str | os.PathLike | None = None):
        self.root = Path(out_dir) / FOLDER
        files = list(MirrorStore(self.root).own_files([split]))
        if not files:
            raise UsageError(f"no mirror split {split!r} in {out_dir}")
        self.keys = [p.relative_to(self.root).as_posix()[: -len(SUFFIX)] for p in files]
        self.class_index = np.array([labels[key.split("/")[1]] for key in self.keys], dtype=np.int32)

    def open(self) -> None:
        return None

    def item(self, i: int) -> np.ndarray:
        return np.load(key_path(self.root, self.keys[i]), allow_pickle=False)

    def read(self, key: str) -> np.ndarray | None:
        return self.item(self.keys.index(key)) if key in self.keys else None


LAYOUT = Layout(name="mirror", help="the tree's files under mirror/<split>/<class>/",
                make_store=lambda facts: MirrorStore(facts.out_dir / FOLDER), open_rows=MirrorRows,
                holds=lambda out_dir, split: (out_dir / FOLDER / split).is_dir())


@contextlib.contextmanager
def registered() -> Iterator[Layout]:
    """The mirror layout registered for the duration of the block."""
    register(LAYOUT)
    try:
        yield LAYOUT
    finally:
        unregister(LAYOUT.name)
