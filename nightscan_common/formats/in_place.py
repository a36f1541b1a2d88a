"""What the layouts built in place share (packed, webdataset): their folder, a journal per split.

Each split being built has a ``Build``: its planned rows and those written, which are
appended to the split's journal as they come. A split already finished as planned is
``current``: all its keys are done. The subclass owns the file names and the bytes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..io.atomic_write import remove_temporaries
from ..plans.spectrogram_plan import Job
from .catalog import ArraySpec, PlannedSample, SampleCatalog, disk_usage


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

    @property
    def folder(self) -> Path:
        return self.out_dir / self.folder_name

    def _own_files(self) -> list[Path]:
        raise NotImplementedError

    def _recorded(self, split: str, build: Build, row: int) -> None:
        """What a layout does once a row is journaled (nothing, by default)."""

    def holds_output(self) -> bool:
        return bool(self._own_files())

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
        build.journal_rows([row])
        self._recorded(job.split, build, row)

    def sweep(self) -> int:
        """Remove temporaries of killed writes; partial files stay, for a rerun to resume."""
        return remove_temporaries(self.folder) if self.folder.is_dir() else 0

    def count_unlisted(self, splits: Sequence[str]) -> int:
        """Always 0: a split is rebuilt to hold exactly the rows planned."""
        return 0

    def remove_own(self) -> int:
        """Delete this layout's files of every split (and temporaries); return how many went."""
        removed = 0
        for path in self._own_files():
            path.unlink()
            removed += 1
        if self.folder.is_dir() and not self.folder.is_symlink():
            removed += remove_temporaries(self.folder)
            with contextlib.suppress(OSError):
                self.folder.rmdir()  # only when empty
        return removed

    def bytes_on_disk(self) -> int:
        return disk_usage(self._own_files())
