"""What the layouts built in place share (packed, webdataset): their folder, a journal per split.

Each split being built has a ``Build``: its planned rows and those written, which are
appended to the split's journal as they come. A split already finished as planned, each
row made from the source its job names now, is ``current``: all its keys are done. The
folder's ``SourceManifest`` says what each row was made from; a row whose source changed
is neither copied nor resumed but recomputed. The subclass owns the file names and the bytes.

A finished split also records the keys of the rows its files hold, in row order
(``.<split>.rows.npy``, written by ``finalize`` before the journal goes): a rerun checks
the rows it keeps against it, and the reader checks the rows it finds.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from ..io.atomic_write import atomic_path, remove_temporaries
from ..vocabulary import SPLITS, Job
from .catalog import ArraySpec, PlannedSample, SampleCatalog, disk_usage
from .spectrogram_store import SourceManifest


def rows_path(folder: Path, split: str) -> Path:
    """The record of a finished split's rows: their keys, in row order."""
    return folder / f".{split}.rows.npy"


def write_rows(path: Path, keys: Sequence[str]) -> None:
    """Record the keys of a finished split's rows, in row order (atomically)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, np.array([k.encode("utf-8") for k in keys], dtype=np.bytes_), allow_pickle=False)


def read_rows(path: Path) -> list[str] | None:
    """The keys ``write_rows`` recorded, or None when there is no readable record."""
    try:
        table = np.load(path, allow_pickle=False)
        return [bytes(k).decode("utf-8") for k in table.tolist()] if table.ndim == 1 else None
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def recorded_count(folder: Path, split: str) -> int | None:
    """How many rows step 3 recorded for a finished split: its record of rows, or in a
    folder written before that record existed, its source manifest; None when neither is there."""
    keys = read_rows(rows_path(folder, split))
    if keys is not None:
        return len(keys)
    manifest = SourceManifest(folder)
    if not manifest.path.is_file():
        return None
    return sum(1 for key in manifest.load() if key.startswith(f"{split}/"))


@dataclass
class Build:
    """A split being built: its rows, the rows written, the journal they are appended to."""

    samples: list[PlannedSample]
    done: set[int] = field(default_factory=set)
    journal: IO[str] | None = None

    def journal_rows(self, rows: Iterable[int]) -> None:
        """Note rows as written: one journal line each, written at once."""
        rows = list(rows)
        self.done.update(rows)
        if self.journal is not None and rows:
            self.journal.write("".join(f"{row}\n" for row in rows))
            self.journal.flush()

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()


class InPlaceStore:
    """The ``SpectrogramStore`` methods that do not depend on the layout's bytes."""

    layout = ""
    folder_name = ""

    def __init__(self, out_dir: str | os.PathLike, *, spec: ArraySpec, catalog: SampleCatalog):
        self.out_dir = Path(out_dir)
        self.spec = spec
        self.catalog = catalog
        self._builds: dict[str, Build] = {}
        self._current: dict[str, list[PlannedSample]] = {}
        self.manifest = SourceManifest(self.folder)
        self._made: dict[str, str] = {}  # key -> the source its job names now
        self._held: dict[str, set[str]] = {}  # split -> keys its files held when the run began

    @property
    def folder(self) -> Path:
        return self.out_dir / self.folder_name

    def _split_files(self, split: str) -> list[Path]:
        """Every file of ``split`` this layout writes, finished or being built."""
        raise NotImplementedError

    def _held_keys(self, split: str) -> set[str]:
        """The keys of the rows ``split``'s finished files hold."""
        raise NotImplementedError

    def _own_files(self) -> list[Path]:
        return [path for split in SPLITS for path in self._split_files(split)]

    def _recorded(self, split: str, build: Build, row: int) -> None:
        """What a layout does once a row is journaled (nothing, by default)."""

    def _begin(self, jobs: Sequence[Job], *, overwrite: bool) -> dict[str, list[PlannedSample]]:
        """What every ``prepare`` starts with: what is held and what from; the plan by split."""
        if overwrite:
            self.remove_own()
        self._builds, self._current = {}, {}
        self._made = {job.key: job.source_id for job in jobs}
        self._held = {split: self._held_keys(split) for split in SPLITS}
        self.manifest.load()
        return self.catalog.plan(jobs)

    def _fresh(self, key: str) -> bool:
        """Whether the row held for ``key`` was made from the source its job names now."""
        return key in self._made and self.manifest.made_from.get(key) == self._made[key]

    def _resumed(self, split: str, samples: list[PlannedSample], journaled: set[int]) -> set[int]:
        """The journaled rows of an interrupted build that can stay: made from today's sources."""
        self._held[split] |= {samples[row].key for row in journaled}
        return {row for row in journaled if self._fresh(samples[row].key)}

    def _copied(self, build: Build, rows: Sequence[int]) -> None:
        """Rows copied from an older file: noted as made from today's sources, then journaled
        (a journaled row always has its manifest entry)."""
        self.manifest.add_all((build.samples[row].key, self._made[build.samples[row].key]) for row in rows)
        build.journal_rows(rows)

    def holds_output(self) -> bool:
        return bool(self._own_files())

    def stale(self, jobs: Sequence[Job]) -> set[str]:
        """Keys held when the run began (finished or journaled) but made from another source."""
        held = set().union(*self._held.values())
        made = self.manifest.made_from
        return {job.key for job in jobs if job.key in held and made.get(job.key) != job.source_id}

    def done(self, jobs: Sequence[Job]) -> set[str]:
        """Keys whose row is written: all of a current split, the journaled rows of a build."""
        keys = {s.key for samples in self._current.values() for s in samples}
        for build in self._builds.values():
            keys.update(build.samples[row].key for row in build.done)
        return {job.key for job in jobs if job.key in keys}

    def record(self, job: Job, receipt: dict) -> None:
        """Journal the row a worker wrote (its receipt names the slot)."""
        build = self._builds[job.split]
        row = int(receipt["slot"])
        self.manifest.add(job.key, job.source_id)
        build.journal_rows([row])
        self._recorded(job.split, build, row)

    def _finish_manifest(self) -> None:
        """Once every build is finished: the manifest keeps the rows the folder holds."""
        held = {split: keys for split, keys in self._held.items() if split not in self._current}
        held.update((split, {s.key for s in samples}) for split, samples in self._current.items())
        self.manifest.compact(set().union(*held.values()))

    def sweep(self) -> int:
        """Remove temporaries of killed writes; partial files stay, for a rerun to resume."""
        return remove_temporaries(self.folder) if self.folder.is_dir() else 0

    def remove_unlisted(self, splits: Sequence[str]) -> int:
        """Held rows in ``splits`` that the run's keys do not name; return how many.

        A split the run plans rows in is rebuilt without them (readers refuse it until
        then); the files of a split it plans none in are deleted here.
        """
        removed = 0
        for split in splits:
            removed += len(self._held.get(split, set()) - self._made.keys())
            if split not in self._builds and split not in self._current:
                for path in self._split_files(split):
                    path.unlink()
                self._held[split] = set()
        return removed

    def remove_own(self) -> int:
        """Delete this layout's files of every split (and temporaries); return how many went."""
        removed = 0
        for path in self._own_files():
            path.unlink()
            removed += 1
        self.manifest.remove()
        if self.folder.is_dir() and not self.folder.is_symlink():
            removed += remove_temporaries(self.folder)
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only when empty
        return removed

    def bytes_on_disk(self) -> int:
        return disk_usage(self._own_files())
