"""A tar shard's bytes, laid out ahead of its arrays: member headers, JSON, npy headers, padding.

Each sample is two ustar members, ``<row>.json`` then ``<row>.npy``, whose headers carry
no time, owner or mode of the machine. Since every array of a layout has one size, the
offset of every array in a shard is known before any is computed: the shard can be
written in place, as ``tarfile`` would have written it whole.
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .catalog import ArraySpec, PlannedSample
from .slots import npy_header, pwrite_all

_BLOCK, _RECORD = tarfile.BLOCKSIZE, tarfile.RECORDSIZE
_NAME = re.compile(r"^(\d{9})\.(json|npy)$")


def sample_name(row: int) -> str:
    return f"{row:09d}"


def sample_json(sample: PlannedSample) -> bytes:
    record = {"class": sample.class_name, "class_index": sample.class_index,
              "group": sample.group_key, "source": sample.source}
    return json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _member_header(name: str, size: int) -> bytes:
    """A ustar header as ``tarfile`` writes it, with no time, owner or mode of the machine."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info.tobuf(tarfile.USTAR_FORMAT, tarfile.ENCODING, "surrogateescape")


def _padded(size: int, unit: int = _BLOCK) -> int:
    return -(-size // unit) * unit


def shard_layout(rows: Iterable[tuple[int, PlannedSample]], spec: ArraySpec, *, headers: bool = True
                 ) -> tuple[list[tuple[int, bytes]], list[int], int]:
    """A shard's bytes but for the arrays: ``(pieces at their offsets, each array's offset, size)``.

    The very bytes ``tarfile`` writes for these members (the tests compare them); the
    gaps, padding and end-of-archive blocks are zeros. ``headers=False`` only places them.
    """
    head = npy_header(spec)
    npy_size = len(head) + spec.row_bytes
    pieces, offsets, pos = [], [], 0
    for row, sample in rows:
        meta = sample_json(sample)
        if headers:
            pieces.append((pos, _member_header(f"{sample_name(row)}.json", len(meta)) + meta))
        pos += _BLOCK + _padded(len(meta))
        if headers:
            pieces.append((pos, _member_header(f"{sample_name(row)}.npy", npy_size) + head))
        offsets.append(pos + _BLOCK + len(head))
        pos += _BLOCK + _padded(npy_size)
    return pieces, offsets, _padded(pos + 2 * _BLOCK, _RECORD)


def write_shard(path: Path, rows: list[tuple[int, PlannedSample]], spec: ArraySpec,
                 array_of: Callable[[int], bytes] | None = None) -> None:
    """Write a shard's known bytes to ``path``, and each row's array when ``array_of`` gives it."""
    pieces, offsets, size = shard_layout(rows, spec)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        for at, data in pieces:
            pwrite_all(fd, data, at)
        if array_of is not None:
            for (row, _), at in zip(rows, offsets, strict=True):
                pwrite_all(fd, array_of(row), at)
        os.ftruncate(fd, size)
    finally:
        os.close(fd)


def read_members(path: Path) -> dict[int, dict[str, tarfile.TarInfo | bytes]]:
    """Row -> {"json": its bytes, "npy": its member} of a shard; {} for an unreadable one."""
    rows: dict[int, dict] = {}
    try:
        with tarfile.open(path, "r") as tar:
            for member in tar:
                match = _NAME.match(member.name)
                if not match or not member.isfile():
                    return {}
                entry = rows.setdefault(int(match[1]), {})
                entry[match[2]] = tar.extractfile(member).read() if match[2] == "json" else member
    except (OSError, tarfile.TarError):
        return {}
    return rows
