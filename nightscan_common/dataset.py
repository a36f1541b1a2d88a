"""``SpectrogramDataset``: step 3's output of one split, any layout, as ``(array, class_index)`` items.

Numpy only: it serves as a PyTorch map-style ``Dataset`` as it is (``__len__`` and
``__getitem__``; the default collate turns the arrays into tensors)::

    from torch.utils.data import DataLoader
    loader = DataLoader(SpectrogramDataset("data/spectrograms_balanced", "train"), batch_size=64,
                        shuffle=True, num_workers=4)

The layout's reader comes from the layout registry (``formats/layouts.py``): any layout
step 3 can write, this can read. Labels come from ``labels.json``, one map for every
split, checked against what was written (the index's classes for the tree, each row's
recorded class index otherwise). Arrays are returned as saved (1 or 3 channels, float32
or float16) and writable; ``transform`` is applied to each. Open files, memory maps and
database connections are opened in the process that reads, so the dataset can be sent
to loader workers, forked or spawned.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .formats.labels import read_labels
from .formats.layout_registry import Rows, get_layout
from .formats.layouts import detect_layout

__all__ = ["SpectrogramDataset", "detect_layout"]


class SpectrogramDataset:
    """The rows of one split: ``dataset[i]`` -> ``(array, class_index)``.

    ``layout`` is detected when None. The tree layout's rows are the index's (in id
    order, the order NightScan's loader reads them in), so it needs ``index_db``; the
    other layouts record their rows themselves. ``UnfinishedLayoutError`` for a layout
    still being built or interrupted, ``DamagedLayoutError`` for one whose files are not
    what step 3 wrote (both ``UsageError``).
    """

    def __init__(self, out_dir: str | os.PathLike, split: str, *, layout: str | None = None,
                 transform: Callable[[np.ndarray], Any] | None = None,
                 index_db: str | os.PathLike | None = None):
        out_dir = Path(out_dir)
        self.labels = read_labels(out_dir)
        self.layout = layout or detect_layout(out_dir, split)
        self.transform = transform
        self._rows: Rows = get_layout(self.layout).open_rows(out_dir, split, self.labels, index_db)

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
