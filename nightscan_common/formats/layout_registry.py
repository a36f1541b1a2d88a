"""Step 3's layouts by name: each layout module registers its store, its reader and how to
recognise it on disk, in one ``Layout`` entry.

The step (``--layout``'s choices and help), ``SpectrogramDataset`` and the report go
through this registry alone, so a layout is one module that ends with::

    register(Layout(name="mine", help="what it writes", make_store=..., open_rows=MyRows,
                    holds=..., needs_index=False))

Layouts are listed by ``rank`` (the built-in ones 0 to 2, in the order tree, packed,
webdataset), then in the order registered. The registry imports no layout:
``formats/layouts.py`` imports the built-in ones.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from .catalog import ArraySpec, SampleCatalog
from .index_db import read_sample_details


@dataclass(frozen=True, kw_only=True)
class StoreFacts:
    """What a store of any layout may be made from: the run's folder, array spec, labels, index."""

    out_dir: Path
    spec: ArraySpec
    labels: Mapping[str, int]
    index_db: str | os.PathLike
    shard_size: int

    def catalog(self) -> SampleCatalog:
        """The index's facts about each file (class, group, augmented) with the run's labels."""
        return SampleCatalog(self.labels, read_sample_details(self.index_db))


class Rows:
    """A reader of one split of one layout: ``len``, ``item(i)``, ``label(i)``, ``read(key)``.

    What it holds open is opened on first use in each process and never pickled, so a
    reader can be sent to loader workers, forked or spawned; ``class_index`` is read
    once, with the rows.
    """

    _handles: tuple[int, Any] | None = None
    class_index: np.ndarray

    def __len__(self) -> int:
        return len(self.class_index)

    def label(self, i: int) -> int:
        return int(self.class_index[i])

    def item(self, i: int) -> np.ndarray:
        raise NotImplementedError

    def read(self, key: str) -> np.ndarray | None:
        """The array step 3 wrote for ``key`` (``<split>/<class>/<stem>``), None if it holds none."""
        raise NotImplementedError

    def opened(self) -> Any:
        if self._handles is None or self._handles[0] != os.getpid():
            self._handles = (os.getpid(), self.open())
        return self._handles[1]

    def open(self) -> Any:
        raise NotImplementedError

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_handles"}


#: ``open_rows(out_dir, split, labels, index_db)``: a finished split's reader, or ``UsageError``.
OpenRows = Callable[[Path, str, Mapping[str, int], "str | os.PathLike | None"], Rows]


@dataclass(frozen=True, kw_only=True)
class Layout:
    """One layout: its name, its ``--layout`` help, its store, its reader, its mark on disk."""

    name: str
    help: str
    make_store: Callable[[StoreFacts], Any]  # -> spectrogram_store.SpectrogramStore
    open_rows: OpenRows
    holds: Callable[[Path, str], bool]  # (out_dir, split): any file of this split, finished or not
    needs_index: bool = False  # its rows are the index's (the tree): the reader needs index_db
    rank: int = 100  # where it is listed (choices, help, detection): the built-in ones first


_REGISTRY: dict[str, Layout] = {}


def register(layout: Layout) -> Layout:
    """Add ``layout`` (a name is registered once); return it."""
    if layout.name in _REGISTRY and _REGISTRY[layout.name] is not layout:
        raise ValueError(f"a layout named {layout.name!r} is already registered")
    _REGISTRY[layout.name] = layout
    return layout


def unregister(name: str) -> None:
    """Remove a layout registered for a while (a test's, a plug-in's)."""
    _REGISTRY.pop(name, None)


def registered() -> tuple[Layout, ...]:
    """Every layout, by rank, then in the order registered (whatever the modules' import order)."""
    return tuple(sorted(_REGISTRY.values(), key=lambda layout: layout.rank))


def get_layout(name: str) -> Layout:
    """The layout named ``name``; ``UsageError`` naming the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        names = ", ".join(layout.name for layout in registered())
        raise UsageError(f"unknown layout {name!r}; expected one of {names}") from None
