"""Reading JSON that another program may have written: bounded in size, depth and digits.

A metadata file may be a link to ``/dev/zero``, a FIFO, a gigabyte of brackets or a
5,000-digit number: each is refused with one ``UsageError`` naming the file, before
it can fill the memory, hang the run or end in a traceback.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from collections.abc import Callable
from typing import Any

from ..errors import UsageError

#: The largest JSON file read (a pool of 750,000 files has about 250 MB of metadata).
MAX_JSON_BYTES = 2 << 30
#: Digits an integer may have: every count or seed we write has fewer than 20.
MAX_INT_DIGITS = 30
#: A ``\uXXXX`` surrogate escape that is not half of a pair: it decodes to no text.
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}")


class _Refused(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Refused(f"an integer of {len(text)} digits")
    return int(text)


def _parse_constant(name: str) -> Any:
    raise _Refused(f"{name}, which is not JSON")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "pipe"), (stat.S_ISCHR, "device"),
                       (stat.S_ISBLK, "device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


class UnsafeJsonFile(UsageError):
    """A JSON file that must not be read at all: not a regular file, or too big."""


def check_json_file(path: str | os.PathLike, *, remedy: str, max_bytes: int = MAX_JSON_BYTES) -> bool:
    """Whether ``path`` exists (links followed); ``UnsafeJsonFile`` when it is there but is not a
    regular file (a device, a pipe, a folder) or holds more than ``max_bytes``.

    Only a stat: a link to ``/dev/zero`` or a FIFO is refused before it is opened.
    """
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):  # a link that leads nowhere included
        return False
    except OSError as exc:
        raise UsageError(f"{path} cannot be read ({exc.strerror or exc}); {remedy}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeJsonFile(f"{path} is not a regular file (a {_kind(st.st_mode)}); {remedy}")
    if st.st_size > max_bytes:
        raise UnsafeJsonFile(f"{path} holds {st.st_size} bytes, more than the {max_bytes} read; {remedy}")
    return True


def _read_bounded(path: str | os.PathLike, *, remedy: str, max_bytes: int) -> bytes:
    try:
        if not check_json_file(path, remedy=remedy, max_bytes=max_bytes):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise UsageError(f"{path} cannot be read ({exc.strerror or exc}); {remedy}") from None
    if len(data) > max_bytes:  # it grew since the stat
        raise UnsafeJsonFile(f"{path} holds more than the {max_bytes} bytes read; {remedy}")
    return data


def load_json_file(path: str | os.PathLike, *, remedy: str, max_bytes: int = MAX_JSON_BYTES,
                   object_hook: Callable[[dict], Any] | None = None) -> Any:
    """Parse ``path`` as strict JSON; ``UsageError`` (ending with ``remedy``) if it is not
    a regular file of at most ``max_bytes``, or not strict JSON, or nested too deep."""
    data = _read_bounded(path, remedy=remedy, max_bytes=max_bytes)
    if m := _LONE_SURROGATE.search(data):
        raise UsageError(f"{path} holds a lone surrogate escape ({m[0].decode()}), which is no "
                         f"text; {remedy}")
    try:
        return json.loads(data.decode("utf-8"), object_hook=object_hook, parse_int=_parse_int,
                          parse_constant=_parse_constant)
    except RecursionError:
        raise UsageError(f"{path} is nested too deep to be metadata; {remedy}") from None
    except _Refused as exc:
        raise UsageError(f"{path} holds {exc}; {remedy}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path} is not readable JSON ({exc}); {remedy}") from None


def load_json_if_valid(path: str | os.PathLike, *, remedy: str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A file the toolkit keeps for itself (a cache, a list it rewrites): its strict JSON, or
    None when it is absent, unreadable or not strict JSON (it is then made anew).

    ``UnsafeJsonFile`` still when it is not a regular file or is too big: reading it would
    hang the run or fill the memory, and a rerun would meet it again.
    """
    try:
        return load_json_file(path, remedy=remedy, max_bytes=max_bytes)
    except UnsafeJsonFile:
        raise
    except UsageError:
        return None


def read_lines(path: str | os.PathLike, *, remedy: str, max_bytes: int = MAX_JSON_BYTES) -> list[str] | None:
    """The lines (each with its ``\\n``, the last one maybe without) of a JSON-lines file the
    toolkit appends to (a journal, a manifest), or None when it is absent or unreadable;
    bytes that are not UTF-8 are replaced (such a line parses as nothing).

    ``UnsafeJsonFile`` when it is not a regular file or is too big, as ``load_json_file``.
    """
    try:
        data = _read_bounded(path, remedy=remedy, max_bytes=max_bytes)
    except UnsafeJsonFile:
        raise
    except UsageError:
        return None
    lines = [part + b"\n" for part in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]  # what follows the last newline: a torn line, or nothing
    return [line.decode("utf-8", errors="replace") for line in lines if line]
