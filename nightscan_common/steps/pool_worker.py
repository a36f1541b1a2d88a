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
from ..execution.base import pin_native_threads
from ..formats.pool_metadata import ORIGINAL, FileRecord
from ..io.atomic_write import atomic_path
from ..io.audio_io import clip_guard, read_mono, write_wav_pcm16
from ..plans.pool_plan import SourceTask


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
    background_files: tuple[str, ...] = ()  # the noise files that passed the check, relative


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


def execute_task(ctx: TaskContext, task: SourceTask) -> list[FileRecord]:
    """Write one original's outputs; return their metadata records (plan order).

    Runs in a worker. Augmentations are written before the original's copy, so a
    finished original in the journal means all its files are in place.
    """
    source = os.path.join(ctx.audio_root, task.class_name, task.source)
    class_dir = Path(ctx.output_dir) / task.class_name
    records = []
    if task.augmentations:
        samples, sr = read_mono(source)
        for planned in task.augmentations:
            out, params = apply_augmentation(planned.augmentation, samples, sr, seed=planned.seed,
                                             background_dir=ctx.background_dir,
                                             background_files=ctx.background_files)
            out, guard_db = clip_guard(out)
            if guard_db:
                params["clip_guard_db"] = guard_db
            write_wav_pcm16(class_dir / planned.filename, out, sr)
            records.append(FileRecord(planned.filename, planned.kind, task.source,
                                      augmentation=planned.augmentation, seed=planned.seed,
                                      frames=int(len(out)), samplerate=sr, params=params))
    _place_original(source, class_dir / task.original.filename, ctx.link_mode)
    records.insert(0, FileRecord(task.original.filename, ORIGINAL, task.source))
    return records
