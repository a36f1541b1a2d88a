"""Step 3's layouts by name, and the store that writes each (made from the run's facts)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..errors import UsageError
from .catalog import ArraySpec, SampleCatalog
from .index_db import read_sample_details
from .packed_store import PackedStore
from .spectrogram_store import SpectrogramStore
from .tree_store import TreeStore
from .webdataset_store import DEFAULT_SHARD_SIZE, WebDatasetStore

LAYOUTS = ("tree", "packed", "webdataset")
DEFAULT_LAYOUT = "tree"


def make_store(layout: str, out_dir: str | os.PathLike, *, spec: ArraySpec, labels: Mapping[str, int],
               index_db: str | os.PathLike, shard_size: int = DEFAULT_SHARD_SIZE) -> SpectrogramStore:
    """The store of ``layout`` below ``out_dir``; the training layouts read the index's
    groups and augmentation flags for their records."""
    if layout == "tree":
        return TreeStore(out_dir)
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    catalog = SampleCatalog(labels, read_sample_details(index_db))
    if layout == "packed":
        return PackedStore(out_dir, spec=spec, catalog=catalog)
    return WebDatasetStore(out_dir, spec=spec, catalog=catalog, shard_size=shard_size)
