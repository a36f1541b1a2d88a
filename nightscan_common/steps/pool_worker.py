"""Step 1's worker: one original decoded once, its augmentations and its copy written.

Everything a task needs travels with it (``TaskContext``); the per-worker set-up is one
picklable object (``PoolWorkerSetup``). The worker returns the files' records, never audio.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..dsp.animals import DEFAULT_ANIMAL
from ..dsp.augmentations import AUGMENTATION_TYPES, apply_augmentation, warm_up
from ..errors import TaskFailed
from ..execution.base import pin_native_threads
from ..formats.pool_metadata import ORIGINAL, FileRecord
from ..formats.source_cache import file_identity
from ..io.atomic_write import atomic_path
from ..io.audio_io import clip_guard, read_mono, write_wav_pcm16
from ..io.audio_segments import write_window
from ..io.file_hash import file_sha256
from ..plans.pool_plan import PlannedFile, SourceTask
from ..seeds import derive_seed

#: Per decoded channel and frame: the float32 blocks and the mono mix (and its copy).
DECODE_BYTES_PER_FRAME_AND_CHANNEL = 12
#: What a task holds besides its audio (libsndfile, the encoded WAV's buffer headers...).
TASK_BASE_BYTES = 32 << 20


def task_memory(task: SourceTask, *, frames: int, channels: int) -> int:
    """A task's estimated peak memory in bytes: the decoded original and its dearest
    augmentation (they are made one after another; each type's bytes per frame are in its
    registry entry); a copy alone needs no decoding."""
    if not task.augmentations:
        return TASK_BASE_BYTES
    dearest = max(AUGMENTATION_TYPES[a.augmentation].bytes_per_frame for a in task.augmentations)
    return TASK_BASE_BYTES + frames * (DECODE_BYTES_PER_FRAME_AND_CHANNEL * channels + dearest)


@dataclass(frozen=True)
class PoolWorkerSetup:
    """Once per worker: BLAS on one thread, the augmentations' numba code compiled."""

    augmentations: tuple[str, ...] = ()
    animal_type: str = DEFAULT_ANIMAL

    def __call__(self) -> None:
        pin_native_threads()
        warm_up(self.augmentations, self.animal_type)


@dataclass(frozen=True, kw_only=True)
class TaskContext:
    """What every task of a run shares, sent with it: folders as strings, the link mode."""

    audio_root: str
    output_dir: str
    link_mode: str
    background_dir: str | None
    animal_type: str = DEFAULT_ANIMAL
    short_noise_dir: str | None = None
    noise_class: str | None = None  # --background-noise-class
    noise_sources: tuple[str, ...] = ()  # its usable recordings, sorted
    seed: int = 0
    background_files: tuple[str, ...] = ()  # the noise files that passed the check, relative
    class_folders: bool = True  # False with --annotations: a source is relative to the audio root


def noise_recording(ctx: TaskContext, task: SourceTask) -> str | None:
    """The one recording of the noise class that all of ``task``'s background noise comes from.

    One per original, so that step 2 can keep each val or test group with noise of its own
    split; the noise class's own originals are mixed with themselves (always one group).
    """
    if ctx.noise_class is None or not ctx.noise_sources:
        return None
    if task.class_name == ctx.noise_class:
        return task.source
    pick = derive_seed(ctx.seed, task.class_name, task.key, "noise") % len(ctx.noise_sources)
    return ctx.noise_sources[pick]


@dataclass(frozen=True, kw_only=True)
class WorkItem:
    """What a worker makes of one original: the files the pool lacks, and the check's sha256.

    A rerun sends only the augmentations it cannot keep, and the original's copy only
    when it is missing or stale; the bytes used must be those the check saw. A window's
    task carries its source's identity as the check saw it (size, mtime, inode): the
    source is hashed once per run, by the check, not once per window.
    """

    task: SourceTask
    make: tuple[PlannedFile, ...]
    place_original: bool
    sha256: str
    identity: tuple[int, ...] = ()  # the source's file_identity at the check, for a window

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
    the bytes that entered the pool (the copy, or what the link leads to; for a window,
    its source read again) must equal the check's: a file replaced or truncated during
    the run fails, and the sha256 recorded for a copy is that of the bytes placed.
    """
    task = item.task
    source = (os.path.join(ctx.audio_root, task.class_name, task.source) if ctx.class_folders
              else os.path.join(ctx.audio_root, task.source))
    class_dir = Path(ctx.output_dir) / task.class_name
    window = task.window
    where: dict = {}  # a window's offset, on each of its files' records
    records = []
    if item.make:
        part = {"start": window.offset, "frames": window.frames} if window else {}
        samples, sr = read_mono(source, **part)
        if window or not item.place_original:
            _check_source(source, item)
        where = {"offset": window.offset, "offset_seconds": window.offset / sr} if window else {}
        noise = {"background_dir": ctx.background_dir}
        if (chosen := noise_recording(ctx, task)) is not None:
            class_folder = os.path.join(ctx.audio_root, ctx.noise_class)
            noise = {"background_dir": os.path.join(class_folder, chosen), "noise_root": class_folder}
        for planned in item.make:
            out, params = apply_augmentation(planned.augmentation, samples, sr, seed=planned.seed,
                                             animal=ctx.animal_type, short_noise_dir=ctx.short_noise_dir,
                                             background_files=ctx.background_files, **noise)
            if "noise_file" in params and chosen is not None:
                params["noise_class"] = ctx.noise_class
            out, guard_db = clip_guard(out)
            if guard_db:
                params["clip_guard_db"] = guard_db
            write_wav_pcm16(class_dir / planned.filename, out, sr)
            records.append(FileRecord(filename=planned.filename, type=planned.kind, source=task.source,
                                      augmentation=planned.augmentation, seed=planned.seed,
                                      frames=int(len(out)), samplerate=sr, params=params, **where))
    if item.place_original and window:
        if not item.make:
            _check_source(source, item)
        probe = write_window(source, class_dir / task.original.filename, window)
        where = {"offset": window.offset, "offset_seconds": window.offset / probe["samplerate"]}
        records.insert(0, FileRecord(filename=task.original.filename, type=ORIGINAL, source=task.source,
                                     **probe, **where))
    elif item.place_original:
        target = class_dir / task.original.filename
        _place_original(source, target, ctx.link_mode)
        sha = file_sha256(target)
        if sha != item.sha256:
            target.unlink()
        _check_unchanged(sha, item.sha256)
        records.insert(0, FileRecord(filename=task.original.filename, type=ORIGINAL, source=task.source,
                                     sha256=sha))
    return records


def _check_source(source: str, item: WorkItem) -> None:
    """The source is still what the check read: its identity when the task has one (a
    window: hashing a long recording again per window would cost windows x its size),
    else its sha256."""
    if item.identity:
        if tuple(file_identity(source)) != item.identity:
            _check_unchanged("", item.sha256)
        return
    _check_unchanged(file_sha256(source), item.sha256)


def _check_unchanged(seen: str, checked: str) -> None:
    if seen != checked:
        raise TaskFailed("changed while the run read it (its sha256 differs from the check's); "
                         "rerun to take the new content")
