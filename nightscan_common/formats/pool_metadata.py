"""The augmented pool's on-disk contract: its file names and ``pool_metadata.json``.

A pool folder holds one sub-folder per class with ``<stem>_original<ext>`` (an
original's bytes) and ``<stem>_aug<NNN>_<type>.wav`` (its augmentations), and
``pool_metadata.json``::

    {"format_version": 1, "created_at": ..., "tool_version": ..., "params": {...},
     "target_samples_per_class": 500,
     "classes": {"<class>": {"original_count", "selected_originals",
         "augmentations_per_sample", "total_count", "reached_target", "files": [
             {"filename", "type": "original"|"augmented", "source", "sha256"?,
              "augmentation"?, "params"?}]}},
     "skipped": [{"path", "reason"}], "totals": {...}}

``source`` is the original's path relative to its class folder, "/"-separated.
Pools written by NightScan's earlier scripts have no ``files`` lists; their file names
follow the same pattern, which ``parse_pool_filename`` reads.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UsageError

METADATA_FILENAME = "pool_metadata.json"
FORMAT_VERSION = 1
ORIGINAL = "original"
AUGMENTED = "augmented"

_ORIGINAL_RE = re.compile(r"^(?P<stem>.+)_original(?P<ext>\.[^./]+)$", re.S)
_AUGMENTED_RE = re.compile(r"^(?P<stem>.+)_aug(?P<number>\d{3,})_(?P<type>[a-z][a-z0-9_]*)\.wav$",
                           re.S | re.I)


def original_filename(stem: str, ext: str) -> str:
    """``x`` + ``.mp3`` -> ``x_original.mp3`` (the original keeps its format)."""
    return f"{stem}_original{ext}"


def augmented_filename(stem: str, number: int, aug_type: str) -> str:
    """``x``, 1, ``noise`` -> ``x_aug001_noise.wav``."""
    return f"{stem}_aug{number:03d}_{aug_type}.wav"


@dataclass(frozen=True)
class PoolName:
    """What a pool file's name says of it."""

    stem: str
    is_augmented: bool
    number: int | None = None
    aug_type: str | None = None


def parse_pool_filename(name: str) -> PoolName | None:
    """Read a pool file name; None for a name that is neither pattern."""
    if m := _AUGMENTED_RE.match(name):
        return PoolName(m["stem"], True, int(m["number"]), m["type"].lower())
    if m := _ORIGINAL_RE.match(name):
        return PoolName(m["stem"], False)
    return None


def metadata_path(pool_dir: str | os.PathLike) -> Path:
    return Path(pool_dir) / METADATA_FILENAME


def load_pool_metadata(pool_dir: str | os.PathLike, *,
                       object_hook: Callable[[dict], Any] | None = None) -> dict[str, Any] | None:
    """The pool's metadata, or None when the pool has none; ``UsageError`` if unreadable.

    ``object_hook`` goes to ``json.loads``: it can turn each file entry into something
    smaller as it is parsed (a large pool's entries, kept as dicts, take gigabytes).
    """
    path = metadata_path(pool_dir)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_hook=object_hook)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not readable JSON ({exc}); rebuild the pool") from None
    if not isinstance(data, dict) or not isinstance(data.get("classes", {}), dict):
        raise UsageError(f"{path} has no 'classes' mapping; is it a pool's metadata?")
    return data
