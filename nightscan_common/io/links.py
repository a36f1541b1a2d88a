"""Symbolic links in an output folder: refused where a step would write through them.

A step writes below its output folder, resumes from what it finds there and removes
what it wrote; a folder link in that layout would make the three disagree (a write
lands outside the output, in the input even, a removal does not follow the link, a
resume check does). So a folder link where a step writes is refused up front, with
what it leads to, and removal never follows a link.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from ..errors import UsageError
from .atomic_write import TEMP_SUFFIX


def refuse_folder_links(root: str | os.PathLike, *, depth: int, option: str) -> None:
    """``UsageError`` if a folder ``depth`` levels or fewer below ``root`` is a symbolic link.

    ``root`` itself may be a link (an output on another disk); what is below it may not.
    """
    level = [Path(root)]
    for _ in range(depth):
        below = []
        for folder in level:
            for entry in _entries(folder):
                if entry.is_symlink() and entry.is_dir():
                    raise UsageError(
                        f"{option} {root}: {entry.path} is a link to {os.path.realpath(entry.path)}; "
                        "no step writes through a folder link (what it wrote there could not be "
                        "told apart or removed): replace the link with a folder")
                if entry.is_dir(follow_symlinks=False):
                    below.append(Path(entry.path))
        level = below


def real_subfolders(folder: str | os.PathLike) -> list[Path]:
    """The sub-folders of ``folder`` that are folders, not links to one, sorted by name."""
    return sorted((Path(e.path) for e in _entries(Path(folder)) if e.is_dir(follow_symlinks=False)),
                  key=lambda p: p.name)


def _entries(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as it:
            return list(it)
    except (FileNotFoundError, NotADirectoryError):
        return []


def check_link_mode(source: str | os.PathLike, folder: str | os.PathLike, mode: str) -> None:
    """Make and remove one link of ``source`` in ``folder`` as ``mode`` would, before any work.

    ``UsageError`` when the file system refuses it (a hard link across devices, links
    on a file system without them), rather than every file failing after its work.
    """
    if mode not in ("hardlink", "symlink"):
        return
    probe = Path(folder) / f".link-mode-check{TEMP_SUFFIX}"
    with contextlib.suppress(FileNotFoundError):
        probe.unlink()
    try:
        if mode == "hardlink":
            os.link(source, probe)
        else:
            os.symlink(os.path.abspath(source), probe)
    except OSError as exc:
        why = ("the audio root and the output folder are on different file systems"
               if exc.errno == errno.EXDEV else exc.strerror or str(exc))
        raise UsageError(f"--link-mode {mode} cannot link the audio root's files into {folder} "
                         f"({why}); use --link-mode copy, or an --output-dir on the same file "
                         "system") from None
    probe.unlink()
