"""Step 1's options (content apart from run control), its report, and the checks made before any work."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..annotations.labels import check_class_name
from ..dsp.animals import ANIMAL_RANGES, DEFAULT_ANIMAL, PRESETS
from ..dsp.audit import MIN_DURATION_S, MIN_PEAK_DBFS
from ..dsp.augmentations import (
    AIR_MIN_SAMPLE_RATE,
    AUGMENTATION_TYPES,
    BACKGROUND_OPTION,
    SHORT_NOISE_OPTION,
    noise_folder_options,
)
from ..dsp.noise_files import NoiseFolderCheck, check_noise_folder
from ..errors import UsageError
from ..execution.base import ClusterUse
from ..execution.cluster import RunOptions
from ..io.audio_files import is_inside, list_classes, scan_audio_files, shown, storable
from ..io.links import check_link_mode, refuse_folder_links
from ..plans.pool_plan import ClassPlan
from ..plans.segments import check_segment
from ..vocabulary import plain
from .options import content_items

LINK_MODES = ("copy", "hardlink", "symlink")
DEFAULT_OUTPUT_DIR = Path("data/augmented_pool")
#: Why a file or class is skipped whose name holds bytes that are not UTF-8.
UNSTORABLE = "its name is not UTF-8 and cannot be stored in pool_metadata.json or the index; rename it"
#: Seconds one original may take (decode and all its augmentations) before it is failed.
TASK_TIMEOUT = 3600.0


#: Field metadata of content options added later: recorded only when not at their default,
#: so that a pool made before them still matches its rerun.
LATER = {"later": True}


@dataclass(frozen=True, kw_only=True)
class PoolOptions:
    """What decides a pool besides its audio root (a rerun must match them); the defaults
    of create_augmented_pool.py's content options live here only."""

    target_samples: int = 500
    max_augmentations: int = 20
    augmentations: tuple[str, ...] | None = None  # None: the animal type's (ANIMAL_RANGES)
    seed: int = 42
    keep_all_originals: bool = False
    link_mode: str = "copy"
    background_noise_dir: Path | None = None
    min_peak_dbfs: float = field(default=MIN_PEAK_DBFS, metadata=LATER)
    min_duration: float = field(default=MIN_DURATION_S, metadata=LATER)  # seconds
    keep_quiet_files: bool = field(default=False, metadata=LATER)  # keep what the gate leaves out
    keep_duplicates: bool = field(default=False, metadata=LATER)  # every copy, in one group
    animal_type: str = field(default=DEFAULT_ANIMAL, metadata=LATER)
    short_noise_dir: Path | None = field(default=None, metadata=LATER)
    background_noise_class: str | None = field(default=None, metadata=LATER)
    segment: float | None = field(default=None, metadata=LATER)  # seconds
    hop: float | None = field(default=None, metadata=LATER)  # seconds; None: the segment (or clip)
    # --annotations: tables place the clips (annotation_options, pool_annotations)
    annotations: tuple[Path, ...] = field(default=(), metadata=LATER)
    annotation_format: str = field(default="auto", metadata=LATER)
    label_column: str | None = field(default=None, metadata=LATER)
    label_map: Path | None = field(default=None, metadata=LATER)
    unknown_labels: str = field(default="error", metadata=LATER)
    min_confidence: float | None = field(default=None, metadata=LATER)
    clip: float | None = field(default=None, metadata=LATER)  # seconds; None: the preset's duration
    multi_label: str = field(default="drop", metadata=LATER)
    max_per_recording: int | None = field(default=None, metadata=LATER)
    background_class: str | None = field(default=None, metadata=LATER)
    exhaustive: tuple[str, ...] = field(default=(), metadata=LATER)  # globs of recording paths
    tables_are_exhaustive: bool = field(default=False, metadata=LATER)
    time_expansion: float = field(default=1.0, metadata=LATER)
    table_time: str = field(default="expanded", metadata=LATER)  # the tables' time base
    point_events: str = field(default="drop", metadata=LATER)

    def __post_init__(self) -> None:
        if self.augmentations is None and self.animal_type in ANIMAL_RANGES:
            object.__setattr__(self, "augmentations", ANIMAL_RANGES[self.animal_type].types)

    def identity(self, output_dir: Path) -> dict[str, Any]:
        """The options as recorded, derived from the fields: paths relative to the output
        folder, "/"-separated; tuples as lists. Options marked ``LATER`` are left out while
        at their default."""
        out: dict[str, Any] = {}
        for name, value, meta in content_items(self):
            if meta.get("later") and value == _FIELDS[name].default:
                continue
            if isinstance(value, Path):
                value = _rel(value, output_dir)
            if isinstance(value, tuple):
                value = [_rel(v, output_dir) if isinstance(v, Path) else v for v in value]
            out[name] = value
        return out


@dataclass(frozen=True, kw_only=True)
class PoolRun:
    """One run of step 1: its input and output, its content options, and its run control
    (which a rerun need not match; the defaults are ``run_pool``'s)."""

    audio_root: Path
    output_dir: Path
    options: PoolOptions
    #: how it runs; made whole here: the memory budget measured, the timeout (per original) set
    run: RunOptions = RunOptions()
    specific_classes: tuple[str, ...] = ()
    dry_run: bool = False
    overwrite: bool = False
    verify: bool = False  # read every original again, trusting no recorded size, mtime and inode
    #: --annotations: the tables as read and paired (``pool_annotations.FrontDoor``): the classes are
    #: its labels
    annotated: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "run", self.run.with_defaults(timeout=TASK_TIMEOUT))

    def identity(self) -> dict[str, Any]:
        """What the pool records and a rerun must match: the audio root, then the options."""
        root = _rel(self.audio_root, self.output_dir)
        return {"audio_root": root, **self.options.identity(self.output_dir)}


_FIELDS = {f.name: f for f in fields(PoolOptions)}


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(path.resolve(), start.resolve()).replace(os.sep, "/")


@dataclass(frozen=True)
class Skipped:
    path: str  # relative to the audio root
    reason: str
    audit: dict[str, Any] | None = None  # what was measured, for an original the gate left out


@dataclass(frozen=True, kw_only=True)
class PoolReport:
    """What a run found, planned and did, built once the run is over; the front end prints it."""

    plans: list[ClassPlan]
    skipped: list[Skipped]
    ignored: dict[str, int]  # non-audio files per class
    empty_classes: list[str]
    written: int = 0  # files made
    reused: int = 0  # files kept as they were
    removed: int = 0  # files the new plan no longer wants
    originals_added: list[str] = field(default_factory=list)  # "<class>/<path>", since the last run
    originals_removed: list[str] = field(default_factory=list)
    originals_changed: list[str] = field(default_factory=list)
    failed_tasks: list[Skipped] = field(default_factory=list)
    gated: list[Skipped] = field(default_factory=list)  # left out by the quality gate
    duplicates: dict[str, str] = field(default_factory=dict)  # copy left out -> the one kept
    cross_class: list[list[str]] = field(default_factory=list)  # one content, two classes or more
    bad_noise: list[Skipped] = field(default_factory=list)  # noise files left out
    #: --annotations: each clip's events, by (class, task key); and what annotations.json holds
    clip_events: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    annotations: dict[str, Any] | None = None
    already_complete: bool = False
    seconds: float = 0.0
    metadata: dict[str, Any] | None = None
    cluster: ClusterUse | None = None  # the Dask cluster that ran it (--scheduler)

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
            "skipped", "ignored", "empty_classes", "written", "reused", "removed", "originals_added",
            "originals_removed", "originals_changed", "failed_tasks", "gated", "duplicates", "cross_class",
            "bad_noise", "already_complete", "seconds", "cluster")}), "status": self.status}


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
    check_noise_sources(opts)


def check_content(opts: PoolOptions) -> None:
    """The checks that need no audio root: counts, link mode, augmentations, noise folder."""
    if opts.target_samples < 1:
        raise UsageError(f"--target-samples must be at least 1, got {opts.target_samples}")
    if opts.max_augmentations < 0:
        raise UsageError(f"--max-augmentations must be 0 or more, got {opts.max_augmentations}")
    if opts.link_mode not in LINK_MODES:
        raise UsageError(f"--link-mode must be one of {', '.join(LINK_MODES)}, got {opts.link_mode!r}")
    if opts.animal_type not in ANIMAL_RANGES:
        raise UsageError(f"--animal-type must be one of {', '.join(ANIMAL_RANGES)}, got {opts.animal_type!r}")
    for name in opts.augmentations or ():
        if name not in AUGMENTATION_TYPES:
            raise UsageError(f"unknown augmentation {name!r}")
    if not opts.annotations:  # with tables, --hop tiles long events (check_annotation_options)
        check_segment(opts.segment, opts.hop)
    check_annotation_options(opts)
    rate = PRESETS[opts.animal_type].sample_rate
    if "air_absorption" in opts.augmentations and rate < AIR_MIN_SAMPLE_RATE:
        raise UsageError(f"air_absorption damps octave bands up to 32 kHz, above what the "
                         f"{opts.animal_type} preset's {rate} Hz keeps; use it with an --animal-type of "
                         f"{AIR_MIN_SAMPLE_RATE // 1000} kHz or more ("
                         + ", ".join(n for n, c in PRESETS.items() if c.sample_rate >= AIR_MIN_SAMPLE_RATE)
                         + ")")
    if opts.background_noise_dir and opts.background_noise_class:
        raise UsageError("give --background-noise-dir or --background-noise-class, not both")
    folders = {BACKGROUND_OPTION: opts.background_noise_dir, SHORT_NOISE_OPTION: opts.short_noise_dir}
    for name, option in noise_folder_options().items():
        if name not in opts.augmentations or (option == BACKGROUND_OPTION and opts.background_noise_class):
            continue
        folder = folders[option]
        if not (folder and folder.is_dir()):
            given = f"{folder} not found or not a folder" if folder else "none given"
            ask = f"{option} DIR"
            if option == BACKGROUND_OPTION:
                ask = "--background-noise-class NAME or " + ask
            what = "ambient recordings" if option == BACKGROUND_OPTION else "short sounds"
            raise UsageError(f"{name} needs {ask}, a folder of {what} ({given})")
        if not scan_audio_files(folder).audio:
            raise UsageError(f"{option} {folder} holds no audio file")

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


def check_noise_sources(opts: PoolRun) -> None:
    """Noise must not come from the dataset behind the splits' back (needs the audio root)."""
    bg = opts.options.background_noise_dir
    if bg is not None and is_inside(bg, opts.audio_root):
        raise UsageError(
            f"--background-noise-dir {bg} is inside the audio root {opts.audio_root}: its recordings may "
            "be, or come from the same sites and nights as, the recordings of a val or test split, which "
            "would leak into training; use --background-noise-class NAME (step 2 then keeps every "
            "noise-mixed val or test sample with noise of its own split), or a folder outside the root")
    name = opts.options.background_noise_class
    if name is not None and not opts.options.annotations and name not in list_classes(opts.audio_root):
        raise UsageError(f"--background-noise-class {name!r} is not a class folder of {opts.audio_root}")
    if name is not None and opts.specific_classes and name not in opts.specific_classes:
        raise UsageError(f"--background-noise-class {name!r} must be one of the --specific-class classes "
                         "of this run: its recordings are read from it")


def unstorable_classes(opts: PoolRun) -> list[str]:
    """Class folders whose names are not UTF-8, with escapes: skipped and listed."""
    return [shown(c) for c in list_classes(opts.audio_root) if not storable(c)]


def select_classes(opts: PoolRun) -> list[str]:
    """The classes of the run: the folders of the audio root, or the labels of the tables."""
    if opts.annotated is not None:
        classes = list(opts.annotated.classes)
        missing = [c for c in opts.specific_classes if c not in classes]
        if missing:
            raise UsageError(f"--specific-class {missing[0]!r} is no class of the tables "
                             f"(classes: {', '.join(classes[:10])}{'...' if len(classes) > 10 else ''})")
        return [c for c in classes if not opts.specific_classes or c in opts.specific_classes]
    classes = [c for c in list_classes(opts.audio_root) if storable(c)]
    if not classes:
        raise UsageError(f"the audio root {opts.audio_root} has no class folders; "
                         "expected one sub-folder of recordings per class")
    missing = [c for c in opts.specific_classes if c not in classes]
    if missing:
        raise UsageError(f"--specific-class {missing[0]!r} is not a folder of {opts.audio_root} "
                         f"(classes: {', '.join(classes[:10])}{'...' if len(classes) > 10 else ''})")
    return [c for c in classes if not opts.specific_classes or c in opts.specific_classes]


def check_output_layout(opts: PoolRun) -> None:
    """Refuse what would fail or write outside the pool, before any work: a class folder
    that is a link, a link mode that the file systems do not allow (tried on one file)."""
    refuse_folder_links(opts.output_dir, depth=1, option="--output-dir")
    if opts.annotated is not None:  # clips are written as WAV files, never linked
        return
    for c in select_classes(opts):
        if audio := scan_audio_files(opts.audio_root / c).audio:
            check_link_mode(opts.audio_root / c / audio[0], opts.output_dir, opts.options.link_mode)
            return


def check_annotation_options(o: PoolOptions) -> None:
    """What annotation options need (``UsageError`` repeating the bad value)."""
    if not o.annotations:
        given = [n for n, v in (("--label-map", o.label_map), ("--label-column", o.label_column),
                                ("--min-confidence", o.min_confidence), ("--clip", o.clip),
                                ("--background-class", o.background_class),
                                ("--max-per-recording", o.max_per_recording)) if v is not None]
        given += ["--exhaustive"] if o.exhaustive else []
        given += ["--tables-are-exhaustive"] if o.tables_are_exhaustive else []
        if given:
            raise UsageError(f"{given[0]} needs --annotations PATH (a table or a folder of tables)")
        return
    if o.segment is not None:
        raise UsageError("--segment cuts whole recordings into windows; with --annotations the tables "
                         "place the clips (--clip, --hop): give one or the other")
    if o.background_noise_class is not None:
        raise UsageError("--background-noise-class reads a class folder; with --annotations use "
                         "--background-noise-dir DIR")
    for name, value in (("--clip", o.clip), ("--hop", o.hop)):
        if value is not None and not value > 0:
            raise UsageError(f"{name} must be above 0 seconds, got {value:g}")
    if not o.time_expansion >= 1:
        raise UsageError(f"--time-expansion must be 1 or more (10 for a x10 recording), "
                         f"got {o.time_expansion:g}")
    if o.max_per_recording is not None and o.max_per_recording < 1:
        raise UsageError(f"--max-per-recording must be at least 1, got {o.max_per_recording}")
    if o.min_confidence is not None and not 0 <= o.min_confidence <= 1:
        raise UsageError(f"--min-confidence must be between 0 and 1, got {o.min_confidence:g}")
    if (o.exhaustive or o.tables_are_exhaustive) and o.background_class is None:
        raise UsageError("--exhaustive and --tables-are-exhaustive say where --background-class NAME "
                         "clips may come from; give it")
    if o.background_class is not None:
        check_class_name(o.background_class, where="--background-class")
        if not (o.exhaustive or o.tables_are_exhaustive):
            raise UsageError("--background-class needs recordings declared complete: --exhaustive GLOB or "
                             "--tables-are-exhaustive (annotators often mark only their target species)")
    if o.label_map is not None and not o.label_map.is_file():
        raise UsageError(f"--label-map {o.label_map} not found or not a file")
