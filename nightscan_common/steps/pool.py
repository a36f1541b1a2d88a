"""Step 1's execution: check the originals, run the plan in workers, write the pool resumably.

The parent discovers and checks files, plans every class (``pool_plan``), and sends one
task per original to the workers; a worker decodes its original once and writes the
original's copy and all its augmentations. Each finished task is appended to a progress
journal in the output folder, so that an interrupted run resumes where it stopped;
``pool_metadata.json`` is written last, from the plan and the journal, in plan order,
so the pool is the same bytes whatever the number of workers or interruptions.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from .. import __version__
from ..dsp.augmentations import AUGMENTATION_TYPES, DEFAULT_AUGMENTATIONS, apply_augmentation, warm_up
from ..errors import OutputConflictError, UsageError
from ..execution.base import Executor, default_num_workers, pin_native_threads
from ..execution.process_pool import ProcessPool
from ..formats.pool_metadata import (
    FORMAT_VERSION,
    METADATA_FILENAME,
    ORIGINAL,
    load_pool_metadata,
    parse_pool_filename,
)
from ..io.atomic_write import atomic_path, remove_temporaries, write_json
from ..io.audio_files import is_inside, list_classes, scan_audio_files
from ..io.audio_io import clip_guard, probe_audio, read_mono, write_wav_pcm16
from ..io.run_lock import exclusive_run
from ..plans.pool_plan import ClassPlan, SourceTask, plan_class

log = logging.getLogger("nightscan")

JOURNAL_FILENAME = ".pool_progress.jsonl"
LINK_MODES = ("copy", "hardlink", "symlink")
#: Seconds one original may take (decode and all its augmentations) before it is failed.
TASK_TIMEOUT = 3600.0


@dataclass(frozen=True)
class PoolOptions:
    """Every option of create_augmented_pool.py; the defaults live here only."""

    audio_root: Path
    output_dir: Path = Path("data/augmented_pool")
    target_samples: int = 500
    max_augmentations: int = 20
    augmentations: tuple[str, ...] = DEFAULT_AUGMENTATIONS
    seed: int = 42
    num_workers: int = field(default_factory=default_num_workers)
    specific_classes: tuple[str, ...] = ()
    keep_all_originals: bool = False
    link_mode: str = "copy"
    background_noise_dir: Path | None = None
    dry_run: bool = False
    overwrite: bool = False
    progress: bool = True
    task_timeout: float = TASK_TIMEOUT  # seconds, per original

    def identity(self) -> dict[str, Any]:
        """The options that decide the pool's content (what a rerun must match).

        Paths are recorded relative to the output folder, "/"-separated.
        """
        bg = self.background_noise_dir
        return {
            "audio_root": _rel(self.audio_root, self.output_dir),
            "target_samples": self.target_samples,
            "max_augmentations": self.max_augmentations,
            "augmentations": list(self.augmentations),
            "seed": self.seed,
            "keep_all_originals": self.keep_all_originals,
            "link_mode": self.link_mode,
            "background_noise_dir": _rel(bg, self.output_dir) if bg else None,
        }


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(path.resolve(), start.resolve()).replace(os.sep, "/")


@dataclass
class Skipped:
    path: str  # relative to the audio root
    reason: str


@dataclass
class PoolReport:
    """What a run found, planned and did; the front end prints it."""

    plans: list[ClassPlan]
    skipped: list[Skipped]
    ignored: dict[str, int]  # non-audio files per class
    empty_classes: list[str]
    written: int = 0
    reused: int = 0
    failed_tasks: list[Skipped] = field(default_factory=list)
    already_complete: bool = False
    seconds: float = 0.0
    metadata: dict[str, Any] | None = None

    @property
    def exit_status(self) -> int:
        return 1 if (self.skipped or self.empty_classes or self.failed_tasks) else 0


# ---------------------------------------------------------------- validation


def validate_options(opts: PoolOptions) -> None:
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
        raise UsageError("background_noise needs --background-noise-dir DIR, a folder of ambient "
                         f"recordings (got {opts.background_noise_dir})")
    if wants_bg and not scan_audio_files(opts.background_noise_dir).audio:
        raise UsageError(f"--background-noise-dir {opts.background_noise_dir} holds no audio file")


def select_classes(opts: PoolOptions) -> list[str]:
    classes = list_classes(opts.audio_root)
    if not classes:
        raise UsageError(f"the audio root {opts.audio_root} has no class folders; "
                         "expected one sub-folder of recordings per class")
    missing = [c for c in opts.specific_classes if c not in classes]
    if missing:
        raise UsageError(f"--specific-class {missing[0]!r} is not a folder of {opts.audio_root} "
                         f"(classes: {', '.join(classes[:10])}{'...' if len(classes) > 10 else ''})")
    return [c for c in classes if not opts.specific_classes or c in opts.specific_classes]


# ---------------------------------------------------------------- discovery and plan


def _probe(path: str) -> dict[str, Any]:
    p = probe_audio(path)
    return {"frames": p.frames, "samplerate": p.samplerate, "channels": p.channels,
            "sha256": p.sha256, "peak": p.peak}


def discover_and_plan(opts: PoolOptions, executor: Executor | None = None,
                      ) -> tuple[PoolReport, dict[tuple[str, str], dict]]:
    """Find, check and plan every selected class; return the report and the probes."""
    executor = executor or ProcessPool(opts.num_workers)
    classes = select_classes(opts)
    scans = {c: scan_audio_files(opts.audio_root / c) for c in classes}
    for c, scan in scans.items():
        for loop in scan.loops:
            log.warning(f"{c}/{loop}: a link loop or dangling link, not followed")
    start = time.monotonic()
    items = [(c, rel) for c in classes for rel in scans[c].audio]
    probes: dict[tuple[str, str], dict] = {}
    skipped: list[Skipped] = []
    paths = {str(opts.audio_root / c / rel): (c, rel) for c, rel in items}
    for outcome in executor.map(_probe, sorted(paths), desc="checking originals", chunksize=16,
                                setup=PoolWorkerSetup(), timeout=opts.task_timeout,
                                progress=opts.progress):
        c, rel = paths[outcome.item]
        if outcome.ok:
            probes[(c, rel)] = outcome.result
        else:
            skipped.append(Skipped(f"{c}/{rel}", outcome.error))
    skipped.sort(key=lambda s: s.path)
    log.debug(f"checked {len(paths)} originals in {time.monotonic() - start:.1f} s")
    for c, rel in sorted(probes):
        if probes[(c, rel)]["peak"] == 0.0:
            log.warning(f"{c}/{rel}: silent (every sample is zero); kept")
    plans, empty = [], []
    for c in classes:
        usable = [rel for rel in scans[c].audio if (c, rel) in probes]
        if not usable:
            empty.append(c)
            log.warning(f"class {c}: no usable audio file; no output for it")
        plans.append(plan_class(c, usable, target=opts.target_samples,
                                max_augmentations=opts.max_augmentations,
                                augmentations=opts.augmentations, seed=opts.seed,
                                keep_all=opts.keep_all_originals))
    ignored = {c: len(scans[c].ignored) for c in classes if scans[c].ignored}
    return PoolReport(plans, skipped, ignored, empty), probes


# ---------------------------------------------------------------- the worker

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


def execute_task(ctx: TaskContext, task: SourceTask) -> list[dict[str, Any]]:
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
                                             background_dir=ctx.background_dir)
            out, guard_db = clip_guard(out)
            if guard_db:
                params["clip_guard_db"] = guard_db
            write_wav_pcm16(class_dir / planned.filename, out, sr)
            records.append({"filename": planned.filename, "type": planned.kind, "source": task.source,
                            "augmentation": planned.augmentation, "seed": planned.seed,
                            "frames": int(len(out)), "samplerate": sr, "params": params})
    _place_original(source, class_dir / task.original.filename, ctx.link_mode)
    records.insert(0, {"filename": task.original.filename, "type": ORIGINAL, "source": task.source})
    return records


# ---------------------------------------------------------------- resume


def _read_journal(path: Path) -> tuple[dict | None, dict[tuple[str, str], list]]:
    """The journal's params and its finished tasks; a torn last line is ignored."""
    params, done = None, {}
    if not path.exists():
        return None, {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "params" in entry:
                params = entry["params"]
            elif "class" in entry:
                done[(entry["class"], entry["source"])] = entry["files"]
    return params, done


def _done_from_metadata(meta: dict) -> dict[tuple[str, str], list]:
    done: dict[tuple[str, str], list] = {}
    for cls, entry in meta.get("classes", {}).items():
        for rec in entry.get("files", []):
            done.setdefault((cls, rec["source"]), []).append(rec)
    return done


def _clear_pool(output_dir: Path, meta: dict | None) -> None:
    """Remove what an earlier run wrote (pool-named files, metadata, journal) and only that."""
    for name in (METADATA_FILENAME, JOURNAL_FILENAME):
        with contextlib.suppress(FileNotFoundError):
            (output_dir / name).unlink()
    for cls_dir in (d for d in output_dir.iterdir() if d.is_dir() and not d.name.startswith(".")):
        for f in cls_dir.iterdir():
            if (f.is_file() or f.is_symlink()) and parse_pool_filename(f.name):
                f.unlink()
        with contextlib.suppress(OSError):
            cls_dir.rmdir()


def prepare_output(opts: PoolOptions) -> tuple[dict[tuple[str, str], list], dict | None]:
    """Check the output folder against this run's options; return what is already done.

    A pool or journal made with other options is refused unless ``overwrite``.
    """
    out = opts.output_dir
    journal = out / JOURNAL_FILENAME
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"the output folder {out} is not writable")
    meta = load_pool_metadata(out)
    j_params, j_done = _read_journal(journal)
    previous = j_params if j_params is not None else (meta or {}).get("params")
    if previous is not None and previous != opts.identity():
        if not opts.overwrite:
            diff = sorted(k for k in set(previous) | set(opts.identity())
                          if previous.get(k) != opts.identity().get(k))
            raise OutputConflictError(
                f"{out} holds a pool made with other options ({', '.join(diff)} differ); "
                "use --overwrite to replace it, or choose another --output-dir")
        _clear_pool(out, meta)
        meta, j_done = None, {}
    elif previous is None and opts.overwrite:
        _clear_pool(out, meta)
    remove_temporaries(out)
    done = _done_from_metadata(meta) if meta else {}
    done.update(j_done)
    return done, meta


def _is_done(task: SourceTask, done: dict, out: Path) -> bool:
    records = done.get((task.class_name, task.source))
    if records is None or [r["filename"] for r in records] != [f.filename for f in task.files]:
        return False
    return all(os.path.lexists(out / task.class_name / f.filename) for f in task.files)


# ---------------------------------------------------------------- metadata


def class_entry(plan: ClassPlan, records: dict[tuple[str, str], list], probes: dict) -> dict[str, Any]:
    lo, hi = plan.augmentations_per_original
    files = []
    for task in plan.tasks:
        recs = records.get((plan.name, task.source), [])
        for rec in recs:
            if rec["type"] == ORIGINAL and (plan.name, task.source) in probes:
                p = probes[(plan.name, task.source)]
                rec = {**rec, "sha256": p["sha256"], "frames": p["frames"],
                       "samplerate": p["samplerate"], "channels": p["channels"]}
            files.append(rec)
    return {"original_count": plan.usable, "selected_originals": plan.kept,
            "augmentations_per_sample": hi, "augmentations_per_original": {"min": lo, "max": hi},
            "total_count": len(files), "reached_target": len(files) >= plan.target,
            "short_by": max(0, plan.target - len(files)), "files": files}


def build_metadata(opts: PoolOptions, report: PoolReport, records: dict, probes: dict,
                   previous: dict | None) -> dict[str, Any]:
    """The pool's metadata; classes not in this run (``--specific-class``) are kept."""
    classes = dict((previous or {}).get("classes", {}))
    for plan in report.plans:
        classes[plan.name] = class_entry(plan, records, probes)
    classes = dict(sorted(classes.items()))
    n_aug = sum(1 for e in classes.values() for f in e["files"] if f["type"] != ORIGINAL)
    n_files = sum(e["total_count"] for e in classes.values())
    return {
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tool_version": __version__,
        "params": opts.identity(),
        "target_samples_per_class": opts.target_samples,
        "classes": classes,
        "skipped": [{"path": s.path, "reason": s.reason} for s in report.skipped + report.failed_tasks],
        "totals": {"classes": len(classes), "files": n_files, "originals": n_files - n_aug,
                   "augmented": n_aug,
                   "short_classes": sorted(c for c, e in classes.items() if not e["reached_target"]),
                   "skipped": len(report.skipped) + len(report.failed_tasks)},
    }


# ---------------------------------------------------------------- the step


def build_pool(opts: PoolOptions, *, executor: Executor | None = None) -> PoolReport:
    """Run step 1: balance every selected class of ``opts.audio_root`` into the pool.

    ``executor`` runs the per-file work; None means a pool of ``opts.num_workers`` processes.
    """
    start = time.monotonic()
    validate_options(opts)
    executor = executor or ProcessPool(opts.num_workers)
    report, probes = discover_and_plan(opts, executor)
    if opts.dry_run:
        return report
    with exclusive_run(opts.output_dir, folder=True):
        return _write_pool(opts, report, probes, start, executor)


def _write_pool(opts: PoolOptions, report: PoolReport, probes: dict, start: float,
                executor: Executor) -> PoolReport:
    done, previous = prepare_output(opts)
    tasks = [t for plan in report.plans for t in plan.tasks]
    todo = [t for t in tasks if not _is_done(t, done, opts.output_dir)]
    # Longest first: a long recording with many augmentations must not be the last task
    # left while the other workers idle. Outputs do not depend on the order.
    todo.sort(key=lambda t: -probes[(t.class_name, t.source)]["frames"] * (1 + 20 * len(t.augmentations)))
    records = {k: v for k, v in done.items()}
    report.reused = sum(len(t.files) for t in tasks) - sum(len(t.files) for t in todo)
    if not todo and previous is not None and _metadata_current(previous, opts, report, records, probes):
        report.already_complete = True
        report.metadata = previous
        report.seconds = time.monotonic() - start
        return report
    try:
        _run_tasks(opts, todo, records, report, executor)
    finally:  # a worker killed while writing (it died; the run stopped) leaves its temporary
        remove_temporaries(opts.output_dir)
    report.metadata = build_metadata(opts, report, records, probes, previous)
    write_json(opts.output_dir / METADATA_FILENAME, report.metadata)
    with contextlib.suppress(FileNotFoundError):
        (opts.output_dir / JOURNAL_FILENAME).unlink()
    report.seconds = time.monotonic() - start
    return report


def _metadata_current(previous: dict, opts: PoolOptions, report: PoolReport, records: dict,
                      probes: dict) -> bool:
    """Whether the metadata on disk already says what this run would write."""
    fresh = build_metadata(opts, report, records, probes, previous)
    keep = ("created_at",)
    return {k: v for k, v in fresh.items() if k not in keep} == {
        k: v for k, v in previous.items() if k not in keep}


def _remove_outputs(output_dir: Path, task: SourceTask) -> None:
    """A failed task's files would be unlisted strays in the pool: remove them."""
    for f in task.files:
        with contextlib.suppress(FileNotFoundError):
            (output_dir / task.class_name / f.filename).unlink()


def _run_tasks(opts: PoolOptions, todo: list[SourceTask], records: dict, report: PoolReport,
               executor: Executor) -> None:
    if not todo:
        return
    start = time.monotonic()
    warm_up(opts.augmentations)  # in the parent too: forked workers inherit the compiled code
    log.debug(f"warmed up in {time.monotonic() - start:.1f} s")
    journal = opts.output_dir / JOURNAL_FILENAME
    bg = str(opts.background_noise_dir.resolve()) if opts.background_noise_dir else None
    with open(journal, "a", encoding="utf-8") as jf:
        if journal.stat().st_size == 0:
            jf.write(json.dumps({"params": opts.identity()}) + "\n")
            jf.flush()
        context = TaskContext(str(opts.audio_root), str(opts.output_dir), opts.link_mode, bg)
        for outcome in executor.map(
            partial(execute_task, context), todo, desc="writing pool",
            setup=PoolWorkerSetup(opts.augmentations), timeout=opts.task_timeout,
            progress=opts.progress, weight=lambda t: len(t.files),
        ):
            task = outcome.item
            if outcome.ok:
                records[(task.class_name, task.source)] = outcome.result
                jf.write(json.dumps({"class": task.class_name, "source": task.source,
                                     "files": outcome.result}, ensure_ascii=False) + "\n")
                jf.flush()
                report.written += len(task.files)
            else:
                records.pop((task.class_name, task.source), None)
                _remove_outputs(opts.output_dir, task)
                report.failed_tasks.append(Skipped(f"{task.class_name}/{task.source}", outcome.error))
                log.warning(f"{task.class_name}/{task.source}: {outcome.error}")
    report.failed_tasks.sort(key=lambda s: s.path)
    log.debug(f"{len(todo)} originals' outputs written in {time.monotonic() - start:.1f} s")
