"""Finding classes and their audio files in a folder tree (deterministic, loop-safe)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..io.atomic_write import is_temporary
from .audio_formats import is_readable_name


def storable(name: str) -> bool:
    """Whether a name can be stored as UTF-8 (JSON, SQLite). A file name holding bytes
    that are not UTF-8 reaches Python with surrogate escapes, which cannot."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(name: str) -> str:
    """A name as text that can always be printed and stored: bytes that are not UTF-8
    become ``\\xff`` escapes."""
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is no byte (from a JSON escape)
        return name.encode("utf-8", "backslashreplace").decode("utf-8")


def list_classes(root: str | os.PathLike) -> list[str]:
    """The class names under ``root``: its visible sub-folders, sorted."""
    with os.scandir(root) as entries:
        return sorted(e.name for e in entries if not e.name.startswith(".") and e.is_dir())


@dataclass(kw_only=True)
class FileScan:
    """What a walk of one class folder found."""

    audio: list[str] = field(default_factory=list)  # paths relative to the folder, "/"-separated
    ignored: list[str] = field(default_factory=list)  # non-audio files, same form
    loops: list[str] = field(default_factory=list)  # folders reached again through a link
    unstorable: list[str] = field(default_factory=list)  # names that are not UTF-8, with escapes


def scan_audio_files(folder: str | os.PathLike) -> FileScan:
    """Every audio file below ``folder``, at any depth, sorted by relative path.

    Hidden files and folders and our own temporaries are passed over, and so are names
    that are not UTF-8 (listed in ``unstorable``: no metadata can hold them). Symbolic links to
    folders are followed once: a folder already visited (two links to one place), a
    link to a folder that holds the link (a loop, which would also bring in the other
    classes when it leads to the audio root) and a link that leads nowhere are recorded
    in ``loops`` and not walked.
    """
    folder = Path(folder)
    scan = FileScan()
    seen: set[tuple[int, int]] = set()

    def walk(directory: Path, rel: str) -> None:
        st = directory.stat()
        key = (st.st_dev, st.st_ino)
        if key in seen:
            scan.loops.append(rel or ".")
            return
        seen.add(key)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") or is_temporary(entry.name):
                continue
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            if not storable(entry.name):  # a file or a folder: neither can be recorded
                scan.unstorable.append(shown(child_rel))
                continue
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError:  # a loop of links: ELOOP
                scan.loops.append(child_rel)
                continue
            if is_dir and entry.is_symlink() and is_inside(directory, entry.path):
                scan.loops.append(child_rel)
            elif is_dir:
                try:
                    walk(Path(entry.path), child_rel)
                except OSError:
                    scan.loops.append(child_rel)
            elif is_file:
                (scan.audio if is_readable_name(entry.name) else scan.ignored).append(child_rel)
            elif entry.is_symlink():
                scan.loops.append(child_rel)  # a dangling link or a loop of links

    walk(folder, "")
    scan.audio.sort()
    scan.ignored.sort()
    return scan


def is_inside(inner: str | os.PathLike, outer: str | os.PathLike) -> bool:
    """Whether ``inner`` is ``outer`` or below it, after resolving links."""
    inner_r = Path(inner).resolve()
    outer_r = Path(outer).resolve()
    return inner_r == outer_r or outer_r in inner_r.parents
