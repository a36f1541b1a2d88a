"""Rows written in place: npy headers, preallocated files, and the worker's writer of fixed slots.

A layout built in place (``packed``, ``webdataset``) preallocates its files, lists the
split's keys in sorted order (``.<split>.keys.npy``: a key's slot is its position) and,
where rows are not evenly spaced, each slot's byte offset (``.<split>.offsets.npy``).
A worker finds its slot by binary search and writes the array's bytes there with
``os.pwrite``: they are in the page cache when the call returns, so a killed worker
loses nothing it reported, and a full disk is an ``OSError`` that stops the run, where a
write to a memory-mapped sparse file would kill the worker with SIGBUS.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic_write import atomic_path, write_bytes
from ..vocabulary import Job
from .catalog import ArraySpec


def npy_header(spec: ArraySpec, rows: int | None = None) -> bytes:
    """The npy header (format 1.0, as ``np.save`` writes it) of one sample, or of ``rows`` of them."""
    shape = spec.shape if rows is None else (rows, *spec.shape)
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(spec.dtype)), "fortran_order": False,
              "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def preallocate(path: Path, rows: int, spec: ArraySpec) -> int:
    """Write the npy header of ``rows`` rows, size the file to hold them; return the data offset."""
    header = npy_header(spec, rows)
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + rows * spec.row_bytes)
    return len(header)


def data_offset(path: Path, rows: int, spec: ArraySpec) -> int | None:
    """The data offset of an npy file of exactly ``rows`` rows of ``spec``, else None."""
    header = npy_header(spec, rows)
    try:
        with open(path, "rb") as fh:
            fits = fh.read(len(header)) == header
        size = path.stat().st_size
    except OSError:
        return None
    return len(header) if fits and size == len(header) + rows * spec.row_bytes else None


def write_slot_index(keys_path: Path, keys: Sequence[str], offsets_path: Path | None = None,
                     offsets: Sequence[int] = ()) -> None:
    """The sorted keys a worker searches for its slot, and each slot's offset (atomically)."""
    tables = [(keys_path, np.array([k.encode("utf-8") for k in keys], dtype=np.bytes_))]
    if offsets_path is not None:
        tables.append((offsets_path, np.array(offsets, dtype=np.int64)))
    for path, table in tables:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, table, allow_pickle=False)


def pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    """``os.pwrite`` until every byte is written (a regular file may take fewer at once)."""
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


def start_journal(path: Path, digest: str) -> None:
    """A build's journal: the plan's digest, then one written slot per line (appended)."""
    write_bytes(path, f"{digest}\n".encode("ascii"))


def read_journal(path: Path, digest: str, slots: int) -> set[int] | None:
    """The slots journaled by an interrupted build of this very plan, or None to start afresh.

    A line cut short by a kill is dropped (and cut from the file, so appending goes on).
    """
    try:
        text = path.read_text(encoding="ascii")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    lines = text.split("\n")
    if lines[0] != digest:
        return None
    if not text.endswith("\n"):
        with open(path, "r+b") as fh:
            fh.truncate(len(text.rsplit("\n", 1)[0]) + 1)
        lines = lines[:-1]
    return {int(line) for line in lines[1:] if line.isdigit() and int(line) < slots}


@dataclass(frozen=True, kw_only=True)
class SlotTarget:
    """Where one split's rows go: slot ``s`` is in ``path``, or with ``rows_per_file`` in
    ``f"{path}{s // rows_per_file:06d}{suffix}"``; at ``offsets[s]`` when an offsets
    table is given, else at ``base + s * row_bytes``."""

    keys: str
    path: str
    spec: ArraySpec
    base: int = 0
    offsets: str | None = None
    rows_per_file: int | None = None
    suffix: str = ""

    def file(self, slot: int) -> str:
        return self.path if self.rows_per_file is None else \
            f"{self.path}{slot // self.rows_per_file:06d}{self.suffix}"


#: Per worker process: open descriptors and loaded tables, by file (and inode).
_open_in_worker: dict[tuple, Any] = {}


def _cached(path: str, opener: Any) -> Any:
    """One open file per process and file (a rerun's new file has another inode)."""
    info = os.stat(path)
    cache_key = (os.getpid(), path, info.st_dev, info.st_ino)
    if cache_key not in _open_in_worker:
        _open_in_worker[cache_key] = opener(path)
    return _open_in_worker[cache_key]


@dataclass(frozen=True)
class SlotWriter:
    """Writes a worker's row into its fixed slot; small, so it travels with every task."""

    targets: dict[str, SlotTarget]

    def put(self, job: Job, array: np.ndarray) -> dict:
        """Write ``array``'s bytes into the slot of ``job``'s key; the receipt names the slot."""
        target = self.targets[job.split]
        target.spec.check(job.key, array)
        keys = _cached(target.keys, lambda p: np.load(p, mmap_mode="r"))
        wanted = job.key.encode("utf-8")
        slot = int(np.searchsorted(keys, wanted))
        if slot >= len(keys) or keys[slot] != wanted:
            raise KeyError(f"{job.key} is not planned in {target.keys}")
        if target.offsets is None:
            offset = target.base + slot * target.spec.row_bytes
        else:
            offset = int(_cached(target.offsets, lambda p: np.load(p, mmap_mode="r"))[slot])
        fd = _cached(target.file(slot), lambda p: os.open(p, os.O_WRONLY))
        pwrite_all(fd, memoryview(np.ascontiguousarray(array)).cast("B"), offset)
        return {"slot": slot}
