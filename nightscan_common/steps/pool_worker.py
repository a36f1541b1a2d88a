"""Step 1's worker: one original decoded once, its augmentations and its copy written.

Everything a task needs travels with it (``TaskContext``); the per-worker set-up is one
picklable object (``PoolWorkerSetup``). The worker returns the files' records, never audio.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..dsp.augmentations import apply_augmentation, warm_up
from ..execution.base import TaskFailed, pin_native_threads
from ..formats.pool_metadata import ORIGINAL, FileRecord
from ..io.atomic_write import atomic_path
from ..io.audio_io import clip_guard, file_sha256, read_mono, write_wav_pcm16
from ..plans.pool_plan import PlannedFile, SourceTask


@dataclass(frozen=True)
class PoolWorkerSetup:
    """Once per worker: BLAS on one thread, the augmentations' numba code compiled."""

    augmentations: tuple[str, ...] = ()

    def __call__(self) -> None:
        pin_native_threads()
        warm_up(self.augmentations)


@dataclass(frozen=True)
class TaskContext:
    """What every task of a run shares, sent with it: folders as strings, the link mode."""

    audio_root: str
    output_dir: str
    link_mode: str
    background_dir: str | None


@dataclass(frozen=True)
class WorkItem:
    """What a worker makes of one original: the files the pool lacks, and the check's sha256.

    A rerun sends only the augmentations it cannot keep, and the original's copy only
    when it is missing or stale; the bytes used must be those the check saw.
    """

    task: SourceTask
    make: tuple[PlannedFile, ...]
    place_original: bool
    sha256: str

    @property
    def weight(self) -> int:
        return len(self.make) + self.place_original


def _place_original(source: str, target: Path, link_mode: str) -> None:
    """Put the original's bytes (or a link to them) under its pool name, atomically."""
    with atomic_path(target) as tmp:
        tmp.unlink()
        if link_mode == "copy":
            shutil.copyfile(source, tmp)
        elif link_mode == "hardlink":
            os.link(source, tmp)
        else:
            os.symlink(os.path.abspath(source), tmp)


def execute_task(ctx: TaskContext, item: WorkItem) -> list[FileRecord]:
    """Write what ``item`` asks for; return the records of the files made (plan order).

    Runs in a worker. Augmentations are written before the original's copy, so a
    finished original in the journal means all its files are in place. The sha256 of
    the bytes that entered the pool (the copy, or what the link leads to) is recorded,
    and must equal the check's: a file replaced or truncated during the run fails.
    """
    task = item.task
    source = os.path.join(ctx.audio_root, task.class_name, task.source)
    class_dir = Path(ctx.output_dir) / task.class_name
    records = []
    if item.make:
        samples, sr = read_mono(source)
        if not item.place_original:
            _check_unchanged(file_sha256(source), item.sha256)
        for planned in item.make:
            out, params = apply_augmentation(planned.augmentation, samples, sr, seed=planned.seed,
                                             background_dir=ctx.background_dir)
            out, guard_db = clip_guard(out)
            if guard_db:
                params["clip_guard_db"] = guard_db
            write_wav_pcm16(class_dir / planned.filename, out, sr)
            records.append(FileRecord(planned.filename, planned.kind, task.source,
                                      augmentation=planned.augmentation, seed=planned.seed,
                                      frames=int(len(out)), samplerate=sr, params=params))
    if item.place_original:
        target = class_dir / task.original.filename
        _place_original(source, target, ctx.link_mode)
        sha = file_sha256(target)
        if sha != item.sha256:
            target.unlink()
        _check_unchanged(sha, item.sha256)
        records.insert(0, FileRecord(task.original.filename, ORIGINAL, task.source, sha256=sha))
    return records


def _check_unchanged(seen: str, checked: str) -> None:
    if seen != checked:
        raise TaskFailed("changed while the run read it (its sha256 differs from the check's); "
                            "rerun to take the new content")
