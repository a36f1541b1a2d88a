"""A folder written beside its final place and renamed into it: nothing half-made under the final name."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .atomic_write import TEMP_SUFFIX


def install_folder(tmp: Path, out: Path) -> None:
    """Rename the finished folder into place; an old one is moved aside, then deleted."""
    if not out.exists():
        os.rename(tmp, out)
        return
    old = tmp.with_name(tmp.name[: -len(TEMP_SUFFIX)] + "-old" + TEMP_SUFFIX)
    os.rename(out, old)
    os.rename(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


def remove_stale_temporaries(out: Path) -> None:
    """Delete folders that an interrupted run left beside ``out`` (ours by their name)."""
    prefix = f".{out.name}."
    for entry in out.parent.iterdir():
        if entry.name.startswith(prefix) and entry.name.endswith(TEMP_SUFFIX) and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def umask() -> int:
    """The process's umask (reading it means setting it: set it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask
