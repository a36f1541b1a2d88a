"""The output seam of step 3: a store holds spectrograms by key, whatever its layout.

The parent prepares the store, asks which keys are done, sends a picklable writer with
the tasks, records what workers return and finalizes; a worker computes an array and
hands it to the writer. One class per layout (``tree_store`` is today's .npy tree).

A key is done only when its output exists and was made from the source the job names
now (``Job.source_id``: the pool file's size, mtime and inode): every layout keeps a
``SourceManifest`` of what each key was made from, so a pool rebuilt under the same
names is recomputed, not trusted because a file exists.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..io.atomic_write import write_bytes
from ..io.bounded_json import read_lines
from ..vocabulary import Job

MANIFEST_FILENAME = ".spectrogram_sources.jsonl"
PENDING_FILENAME = ".spectrogram_sources.pending.jsonl"
_REMEDY = "remove it (the spectrograms it records are then made anew) and rerun"


class SourceManifest:
    """Key -> the source identity its output was made from, one JSON line per output.

    During a run the parent appends a line to a pending log as each output is recorded
    (a killed run loses nothing finished; a torn last line is ignored); at the end the
    manifest is rewritten, sorted, atomically, and the log removed.
    """

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / MANIFEST_FILENAME
        self.pending = Path(folder) / PENDING_FILENAME
        self.made_from: dict[str, str] = {}

    def load(self) -> dict[str, str]:
        self.made_from = {}
        for path in (self.path, self.pending):  # the log is the newer
            for line in read_lines(path, remedy=_REMEDY) or ():
                try:
                    key, source_id = json.loads(line)
                except (ValueError, TypeError):
                    continue
                self.made_from[str(key)] = str(source_id)
        return self.made_from

    def add(self, key: str, source_id: str) -> None:
        self.add_all([(key, source_id)])

    def add_all(self, entries: Iterable[tuple[str, str]]) -> None:
        """Note outputs made (or copied) from these sources: one append for them all."""
        entries = list(entries)
        if not entries:
            return
        self.made_from.update(entries)
        self.pending.parent.mkdir(parents=True, exist_ok=True)
        with open(self.pending, "a", encoding="utf-8") as fh:
            fh.write("".join(json.dumps([k, v], ensure_ascii=False) + "\n" for k, v in entries))

    def compact(self, held: Iterable[str]) -> None:
        """Rewrite the manifest with the entries of the keys still ``held``, sorted; drop the log."""
        keep = {k: self.made_from[k] for k in sorted(set(held)) if k in self.made_from}
        data = "".join(json.dumps([k, v], ensure_ascii=False) + "\n" for k, v in keep.items()).encode()
        if not keep:
            self.path.unlink(missing_ok=True)
        elif not self.path.exists() or self.path.read_bytes() != data:
            write_bytes(self.path, data)
        self.pending.unlink(missing_ok=True)
        self.made_from = keep

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)
        self.pending.unlink(missing_ok=True)
        self.made_from = {}


class SlotWriter(Protocol):
    """Runs in a worker: writes one spectrogram atomically; returns a small receipt."""

    def put(self, job: Job, array: np.ndarray) -> dict: ...


class SpectrogramStore(Protocol):
    """Where step 3's spectrograms go; the only code that knows the layout on disk."""

    layout: str

    def holds_output(self) -> bool: ...          # any spectrogram of ours, from any run

    def prepare(self, jobs: Sequence[Job], *, overwrite: bool) -> None: ...

    def done(self, jobs: Sequence[Job]) -> set[str]: ...   # held, and made from the job's source

    def stale(self, jobs: Sequence[Job]) -> set[str]: ...  # held, but made from another source

    def writer(self) -> SlotWriter: ...

    def record(self, job: Job, receipt: dict) -> None: ...

    def finalize(self) -> None: ...

    def sweep(self) -> int: ...                  # partial files of killed workers

    def remove_own(self) -> int: ...

    def bytes_on_disk(self) -> int: ...

    def remove_unlisted(self, splits: Sequence[str]) -> int: ...  # outputs of rows no longer indexed

    def read(self, key: str) -> np.ndarray: ...
