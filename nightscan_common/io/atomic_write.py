"""Atomic file writes: a temporary name beside the target, then ``os.replace``.

An interrupted run (Ctrl-C, SIGKILL, a full disk) therefore never leaves a partial file
under a final name: readers see the old file or the new one, never half of one.
Temporary names start with a dot and end with ``TEMP_SUFFIX`` so that scanners skip
them and a rerun can sweep them away.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TEMP_SUFFIX = ".nightscan-tmp"
#: Random characters that ``mkstemp`` puts between a temporary's prefix and its suffix.
_RANDOM_PART = 8
#: The longest file name, in bytes, where the file system does not say (Linux's NAME_MAX).
DEFAULT_NAME_MAX = 255
#: errno values that say the output takes no more: a full disk or quota, a file too
#: large for it, a read-only file system. Trying the next file is no use.
OUTPUT_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})


def _file_mode() -> int:
    """The mode a plain ``open()`` would give a new file (mkstemp's is 0600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_FILE_MODE = _file_mode()


def is_temporary(path: str | os.PathLike) -> bool:
    """Whether a file name is one of our temporaries (left by an interrupted run)."""
    name = os.path.basename(path)
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def json_text(obj: Any, *, indent: int | None = 2, sort_keys: bool = True) -> str:
    """``obj`` as strict JSON text: sorted keys, UTF-8, no ``NaN``/``Infinity`` (a
    ``ValueError``), since strict parsers reject them. Every JSON the toolkit writes is
    made here."""
    return json.dumps(obj, indent=indent, sort_keys=sort_keys, ensure_ascii=False, allow_nan=False)


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return DEFAULT_NAME_MAX


def temp_prefix(target: Path) -> str:
    """The start of ``target``'s temporary names: ``.<name>.``, the name cut (at a character
    boundary) so that the whole temporary fits the file system's name limit whenever the
    final name does."""
    room = _name_max(target.parent) - len(TEMP_SUFFIX) - _RANDOM_PART - 2
    name = target.name
    while len(os.fsencode(name)) > room and name:
        name = name[:-1]
    return f".{name}."


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it is renamed onto it.

    The caller writes the whole file to the yielded path. On any exception the
    temporary is removed and ``target`` is left as it was; an ``OSError`` (a full
    disk, a read-only folder) names ``target``, not the temporary.
    """
    target = Path(target)
    tmp_path = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=TEMP_SUFFIX, dir=target.parent)
        os.fchmod(fd, _FILE_MODE)
        os.close(fd)
        tmp_path = Path(tmp)
        yield tmp_path
        os.replace(tmp_path, target)
    except OSError as exc:
        about_output = exc.errno in OUTPUT_FULL_ERRNOS or (
            exc.errno is not None and (exc.filename is None or is_temporary(exc.filename)))
        if not about_output:
            raise
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    finally:
        if tmp_path is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()


def write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_json(target: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted, strict UTF-8 JSON (``json_text``), atomically.

    Names that are not UTF-8 (surrogate escapes) are refused by the caller before this.
    """
    write_bytes(target, (json_text(obj) + "\n").encode("utf-8"))


def remove_temporaries_of(target: str | os.PathLike) -> int:
    """Delete the temporaries that ``atomic_path(target)`` left when its run was killed.

    Only the holder of the target's run lock may call it: another run's temporary
    is in use.
    """
    target = Path(target)
    removed = 0
    prefix = temp_prefix(target)
    for stale in target.parent.glob(f"{glob.escape(prefix)}*{TEMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
            removed += 1
    return removed


def remove_temporaries(folder: str | os.PathLike) -> int:
    """Delete temporaries left below ``folder`` by an interrupted run; return how many."""
    removed = 0
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            if is_temporary(name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
    return removed
