"""Step 1's options (content apart from run control), its report, and the checks made before any work."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dsp.audit import MIN_DURATION_S, MIN_PEAK_DBFS
from ..dsp.augmentations import AUGMENTATION_TYPES, DEFAULT_AUGMENTATIONS
from ..errors import UsageError
from ..io.audio_files import is_inside, list_classes, scan_audio_files
from ..io.noise_files import NoiseFolderCheck, check_noise_folder
from ..plans.pool_plan import ClassPlan
from ..reports import plain
from .options import content_items

LINK_MODES = ("copy", "hardlink", "symlink")
DEFAULT_OUTPUT_DIR = Path("data/augmented_pool")
#: Seconds one original may take (decode and all its augmentations) before it is failed.
TASK_TIMEOUT = 3600.0


@dataclass(frozen=True)
class PoolOptions:
    """What decides a pool besides its audio root (a rerun must match them); the defaults
    of create_augmented_pool.py's content options live here only."""

    target_samples: int = 500
    max_augmentations: int = 20
    augmentations: tuple[str, ...] = DEFAULT_AUGMENTATIONS
    seed: int = 42
    keep_all_originals: bool = False
    link_mode: str = "copy"
    background_noise_dir: Path | None = None
    min_peak_dbfs: float = MIN_PEAK_DBFS
    min_duration: float = MIN_DURATION_S  # seconds
    keep_quiet_files: bool = False  # keep what the gate leaves out, with a warning
    keep_duplicates: bool = False  # keep every copy of a recording in a class (in one group)

    def identity(self, output_dir: Path) -> dict[str, Any]:
        """The options as recorded, derived from the fields: paths relative to the output
        folder, "/"-separated; tuples as lists."""
        out: dict[str, Any] = {}
        for name, value, _ in content_items(self):
            if isinstance(value, Path):
                value = _rel(value, output_dir)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass(frozen=True)
class PoolRun:
    """One run of step 1: its input and output, its content options, and its run control
    (which a rerun need not match; the defaults are ``run_pool``'s)."""

    audio_root: Path
    output_dir: Path
    options: PoolOptions
    num_workers: int
    specific_classes: tuple[str, ...]
    dry_run: bool
    overwrite: bool
    progress: bool
    task_timeout: float  # seconds, per original

    def identity(self) -> dict[str, Any]:
        """What the pool records and a rerun must match: the audio root, then the options."""
        root = _rel(self.audio_root, self.output_dir)
        return {"audio_root": root, **self.options.identity(self.output_dir)}


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(path.resolve(), start.resolve()).replace(os.sep, "/")


@dataclass(frozen=True)
class Skipped:
    path: str  # relative to the audio root
    reason: str
    audit: dict[str, Any] | None = None  # what was measured, for an original the gate left out


@dataclass(frozen=True)
class PoolReport:
    """What a run found, planned and did, built once the run is over; the front end prints it."""

    plans: list[ClassPlan]
    skipped: list[Skipped]
    ignored: dict[str, int]  # non-audio files per class
    empty_classes: list[str]
    written: int = 0
    reused: int = 0
    failed_tasks: list[Skipped] = field(default_factory=list)
    gated: list[Skipped] = field(default_factory=list)  # left out by the quality gate
    duplicates: dict[str, str] = field(default_factory=dict)  # copy left out -> the one kept
    cross_class: list[list[str]] = field(default_factory=list)  # one content, two classes or more
    bad_noise: list[Skipped] = field(default_factory=list)  # noise files left out
    already_complete: bool = False
    seconds: float = 0.0
    metadata: dict[str, Any] | None = None

    @property
    def status(self) -> int:
        """0 all done; 1 done, but some input was left out, failed or is filed under two classes."""
        return 1 if (self.skipped or self.empty_classes or self.failed_tasks or self.gated
                     or self.cross_class or self.bad_noise) else 0

    def total(self, plan: ClassPlan) -> int:
        """A class's files: those written (the outcomes) once the pool is written, else the plan's."""
        if self.metadata is not None and plan.name in self.metadata.get("classes", {}):
            return self.metadata["classes"][plan.name]["total_count"]
        return plan.total

    def to_dict(self) -> dict[str, Any]:
        """The figures, for machines: per class its counts, then what the run did."""
        classes = [{"name": p.name, "usable": p.usable, "kept": p.kept, "total": self.total(p),
                    "target": p.target, "reached_target": self.total(p) >= p.target} for p in self.plans]
        return {"classes": classes, **plain({k: getattr(self, k) for k in (
            "skipped", "ignored", "empty_classes", "written", "reused", "failed_tasks", "gated",
            "duplicates", "cross_class", "bad_noise", "already_complete", "seconds")}),
            "status": self.status}


# ---------------------------------------------------------------- validation


def validate_options(opts: PoolRun) -> None:
    """Refuse options that cannot work, before anything is read or written."""
    if not opts.audio_root.is_dir():
        raise UsageError(f"audio root not found or not a folder: {opts.audio_root}")
    if is_inside(opts.output_dir, opts.audio_root):
        raise UsageError(f"the output folder {opts.output_dir} is inside the audio root "
                         f"{opts.audio_root}; the input is never written to: choose another --output-dir")
    if is_inside(opts.audio_root, opts.output_dir):
        raise UsageError(f"the audio root {opts.audio_root} is inside the output folder "
                         f"{opts.output_dir}; choose an --output-dir beside it")
    if opts.output_dir.exists() and not opts.output_dir.is_dir():
        raise UsageError(f"--output-dir {opts.output_dir} exists and is not a folder")
    check_content(opts.options)


def check_content(opts: PoolOptions) -> None:
    """The checks that need no audio root: counts, link mode, augmentations, noise folder."""
    if opts.target_samples < 1:
        raise UsageError(f"--target-samples must be at least 1, got {opts.target_samples}")
    if opts.max_augmentations < 0:
        raise UsageError(f"--max-augmentations must be 0 or more, got {opts.max_augmentations}")
    if opts.link_mode not in LINK_MODES:
        raise UsageError(f"--link-mode must be one of {', '.join(LINK_MODES)}, got {opts.link_mode!r}")
    for name in opts.augmentations:
        if name not in AUGMENTATION_TYPES:
            raise UsageError(f"unknown augmentation {name!r}")
    wants_bg = "background_noise" in opts.augmentations
    if wants_bg and not (opts.background_noise_dir and opts.background_noise_dir.is_dir()):
        given = (f"{opts.background_noise_dir} not found or not a folder" if opts.background_noise_dir
                 else "none given")
        raise UsageError(f"background_noise needs --background-noise-dir DIR, a folder of ambient "
                         f"recordings ({given})")
    if wants_bg and not scan_audio_files(opts.background_noise_dir).audio:
        raise UsageError(f"--background-noise-dir {opts.background_noise_dir} holds no audio file")
    if opts.min_duration < 0:
        raise UsageError(f"--min-duration must be 0 or more seconds, got {opts.min_duration:g}")
    if not opts.min_peak_dbfs <= 0:
        raise UsageError(f"--min-peak-dbfs must be a level in dBFS, 0 or below, got {opts.min_peak_dbfs:g}")


def check_noise(opts: PoolOptions) -> NoiseFolderCheck | None:
    """Decode every noise file once, before any work; ``UsageError`` if none is usable."""
    if "background_noise" not in opts.augmentations or opts.background_noise_dir is None:
        return None
    check = check_noise_folder(opts.background_noise_dir, min_peak_dbfs=opts.min_peak_dbfs,
                               min_duration=opts.min_duration)
    check.require_usable()
    return check


def select_classes(opts: PoolRun) -> list[str]:
    classes = list_classes(opts.audio_root)
    if not classes:
        raise UsageError(f"the audio root {opts.audio_root} has no class folders; "
                         "expected one sub-folder of recordings per class")
    missing = [c for c in opts.specific_classes if c not in classes]
    if missing:
        raise UsageError(f"--specific-class {missing[0]!r} is not a folder of {opts.audio_root} "
                         f"(classes: {', '.join(classes[:10])}{'...' if len(classes) > 10 else ''})")
    return [c for c in classes if not opts.specific_classes or c in opts.specific_classes]
