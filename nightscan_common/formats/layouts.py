"""Step 3's layouts: the built-in ones registered, and what the step and readers ask of them.

Each layout's module registers it (``layout_registry``): the .npy ``tree``, ``packed``
arrays and ``webdataset`` shards are imported here, in that order (the first is the
default). A layout of one's own is one module that calls ``register``, imported before
the step or reader runs.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from pathlib import Path

from ..errors import UsageError
from ..vocabulary import SPLITS
from .catalog import ArraySpec
from .layout_registry import Layout, StoreFacts, get_layout, registered
from .spectrogram_store import SpectrogramStore
from .webdataset_store import DEFAULT_SHARD_SIZE

#: The modules of the built-in layouts, each registering one.
BUILT_IN = ("tree_store", "packed_store", "webdataset_store")
for _module in BUILT_IN:
    importlib.import_module(f"{__package__}.{_module}")

LAYOUTS = tuple(layout.name for layout in registered())  # the built-in ones
DEFAULT_LAYOUT = LAYOUTS[0]


def layout_names() -> tuple[str, ...]:
    """Every registered layout's name: ``--layout``'s choices."""
    return tuple(layout.name for layout in registered())


def layouts_help() -> str:
    """``--layout``'s help: one phrase per registered layout."""
    return "; ".join(f"{layout.name}: {layout.help}" for layout in registered())


def make_store(layout: str, out_dir: str | os.PathLike, *, spec: ArraySpec, labels: Mapping[str, int],
               index_db: str | os.PathLike, shard_size: int = DEFAULT_SHARD_SIZE) -> SpectrogramStore:
    """The store of ``layout`` below ``out_dir``; ``UsageError`` for an unknown name."""
    return get_layout(layout).make_store(StoreFacts(out_dir=Path(out_dir), spec=spec, labels=labels,
                                                    index_db=index_db, shard_size=shard_size))


def layouts_holding(out_dir: str | os.PathLike, split: str) -> list[Layout]:
    """The layouts with files of ``split`` in ``out_dir`` (finished or not), in registry order."""
    return [layout for layout in registered() if layout.holds(Path(out_dir), split)]


def detect_layout(out_dir: str | os.PathLike, split: str) -> str:
    """The one layout that holds ``split`` in ``out_dir``; ``UsageError`` for none or several."""
    found = [layout.name for layout in layouts_holding(out_dir, split)]
    if not found:
        raise UsageError(f"{out_dir} holds no spectrograms of split {split!r}; run step 3 first")
    if len(found) > 1:
        raise UsageError(f"{out_dir} holds split {split!r} in several layouts ({', '.join(found)}); "
                         "pass layout= to choose one")
    return found[0]


def other_stores(layout: str, out_dir: str | os.PathLike, *, spec: ArraySpec, labels: Mapping[str, int],
                 index_db: str | os.PathLike) -> list[SpectrogramStore]:
    """The stores of the other layouts that hold files below ``out_dir``: what a layout
    switch must see (their outputs count as the folder's) and ``--overwrite`` clears."""
    return [make_store(other.name, out_dir, spec=spec, labels=labels, index_db=index_db)
            for other in registered() if other.name != layout
            and any(other.holds(Path(out_dir), split) for split in SPLITS)]
