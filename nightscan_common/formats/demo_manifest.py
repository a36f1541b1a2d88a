"""The demo data set's manifest: its name, its reader, and the files it lists or a folder holds."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from ..io.bounded_json import load_json_if_valid

MANIFEST_FILENAME = "demo_manifest.json"
GENERATOR = "nightscan-demo-data"
FORMAT_VERSION = 1


def read_manifest(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The folder's demo manifest, or None when it has none (it is not a demo data set)."""
    manifest = load_json_if_valid(Path(folder) / MANIFEST_FILENAME,
                                  remedy="remove it, or choose another folder")
    return manifest if isinstance(manifest, dict) and manifest.get("generator") == GENERATOR else None


def listed_files(manifest: dict[str, Any]) -> dict[str, int]:
    """Every file a manifest lists (relative path -> size in bytes), the manifest excepted."""
    files = {f["path"]: f["bytes"] for c in manifest.get("classes", {}).values() for f in c["files"]}
    return files | dict(manifest.get("other_files", {}))


def files_below(folder: Path) -> dict[str, int]:
    """Every file below ``folder`` (relative path -> size), the demo manifest excepted."""
    found = {}
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            if rel != MANIFEST_FILENAME:
                with contextlib.suppress(OSError):
                    found[rel] = path.lstat().st_size
    return found
