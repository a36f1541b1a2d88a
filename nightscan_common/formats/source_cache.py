"""Step 1's record of what it read: each input file's identity and probe, and the listings' checksums.

``.pool_sources.json`` in the pool maps ``<class>/<path>`` to the file's size, mtime
(nanoseconds) and inode when it was probed, and what the probe found. A rerun trusts a
file whose size, mtime and inode are unchanged and reuses its probe (``--verify``
reads every file again); any other file is probed anew. The file is a cache: removing
it costs one full check, never a wrong pool.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..io.atomic_write import write_json
from ..io.bounded_json import load_json_if_valid

SOURCES_FILENAME = ".pool_sources.json"
_FORMAT = 1


def file_identity(path: str | os.PathLike) -> list[int]:
    """What says a file is unchanged without reading it: [size, mtime_ns, inode]."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def read_sources(pool_dir: Path) -> dict[str, dict[str, Any]]:
    """The recorded identities and probes, or {} when there is none or it is unreadable."""
    data = load_json_if_valid(pool_dir / SOURCES_FILENAME,
                              remedy="remove it (a cache: step 1 checks every original anew) and rerun")
    if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("files"), dict):
        return {}
    return {k: v for k, v in data["files"].items() if isinstance(v, dict)
            and isinstance(v.get("identity"), list) and isinstance(v.get("probe"), dict)}


def write_sources(pool_dir: Path, files: Mapping[str, dict[str, Any]]) -> None:
    write_json(pool_dir / SOURCES_FILENAME, {"format": _FORMAT, "files": dict(sorted(files.items()))})


def listing_sha256(entries: Iterable[tuple[str, str]]) -> str:
    """A checksum of (path, content sha256) pairs, sorted: a folder's version."""
    digest = hashlib.sha256()
    for path, sha in sorted(entries):
        digest.update(f"{path}\t{sha}\n".encode())
    return digest.hexdigest()
