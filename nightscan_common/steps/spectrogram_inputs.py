"""Step 3's version record: what each spectrogram and the whole folder were made from.

A job's ``source_id`` is the pool file's size, mtime and inode: step 1 writes every
file under a temporary name and renames it, so a file it remade has a new identity
even under the same name. The folder's config records the index's rows and the pool
listing's checksum the index itself recorded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..formats.index_db import read_index_info
from ..formats.source_cache import file_identity, listing_sha256
from ..vocabulary import Job

#: The index_info keys that say which pool the index was made from, and that two builds of
#: one data set share (``pool_metadata_sha256`` covers the metadata's timestamp too).
POOL_KEYS = ("pool_listing_sha256",)


def source_id(path: str | os.PathLike) -> str:
    """``size:mtime_ns:inode`` of a pool file (links followed), or "" when it cannot be read."""
    try:
        return ":".join(map(str, file_identity(path)))
    except OSError:
        return ""


def index_inputs(index_db: str | os.PathLike, jobs: Sequence[Job]) -> dict[str, Any]:
    """The index's rows (key and source) as one checksum, and the pool's checksums it holds."""
    info = read_index_info(index_db) or {}
    return {"index_rows": len(jobs), "index_sha256": listing_sha256((j.key, j.source) for j in jobs),
            **{k: info[k] for k in POOL_KEYS if k in info}}
