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
import logging
import os
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from ..dsp.animal_ranges import ANIMAL_RANGES
from ..dsp.augmentations import warm_up
from ..errors import UsageError
from ..execution.base import DEFAULT_NUM_WORKERS, Executor
from ..execution.process_pool import ProcessPool
from ..formats.pool_journal import (
    JOURNAL_FILENAME,
    done_from_metadata,
    read_journal,
    write_done,
    write_params,
)
from ..formats.pool_metadata import (
    METADATA_FILENAME,
    load_pool_metadata,
    parse_pool_filename,
)
from ..formats.provenance import guard
from ..io.atomic_write import remove_temporaries, write_json
from ..io.audio_files import scan_audio_files
from ..io.audio_formats import NEEDS_CONVERTING, extension, ignored_reason
from ..io.noise_files import NoiseFolderCheck
from ..io.run_lock import exclusive_run
from ..plans.pool_plan import SourceTask, plan_class
from . import pool_checks
from .pool_checks import find_duplicates, gate
from .pool_options import (
    TASK_TIMEOUT,
    PoolOptions,
    PoolReport,
    PoolRun,
    Skipped,
    check_noise,
    select_classes,
    validate_options,
)
from .pool_record import build_metadata
from .pool_worker import PoolWorkerSetup, TaskContext, execute_task

log = logging.getLogger("nightscan")

# ---------------------------------------------------------------- discovery and plan


def discover_and_plan(opts: PoolRun, executor: Executor | None = None,
                      ) -> tuple[PoolReport, dict[tuple[str, str], dict]]:
    """Find, check and plan every selected class; return the report and the probes."""
    executor = executor or ProcessPool(opts.num_workers)
    classes = select_classes(opts)
    scans = {c: scan_audio_files(opts.audio_root / c) for c in classes}
    for c, scan in scans.items():
        for loop in scan.loops:
            log.warning(f"{c}/{loop}: a link loop or dangling link, not followed")
        for name in scan.ignored:
            if extension(name) in NEEDS_CONVERTING:
                log.warning(ignored_reason(f"{c}/{name}"))
            else:
                log.debug(ignored_reason(f"{c}/{name}"))
    start = time.monotonic()
    items = [(c, rel) for c in classes for rel in scans[c].audio]
    probes: dict[tuple[str, str], dict] = {}
    skipped: list[Skipped] = []
    paths = {str(opts.audio_root / c / rel): (c, rel) for c, rel in items}
    cut = opts.options.segment
    probe = partial(pool_checks.probe_original, segment=cut, hop=opts.options.hop) if cut \
        else pool_checks.probe_original
    for outcome in executor.map(probe, sorted(paths), desc="checking originals", chunksize=16,
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
        if probes[(c, rel)].get("silent_windows"):
            log.warning(f"{c}/{rel}: {probes[(c, rel)]['silent_windows']} window(s) of digital silence "
                        "(every sample zero) left out")
    gated = gate(opts.options, probes)
    duplicates, cross_class = find_duplicates(opts.options, probes)
    plans, empty = [], []
    for c in classes:
        usable = [rel for rel in scans[c].audio if (c, rel) in probes
                  and probes[(c, rel)].get("windows") != []]  # a recording of silent windows only
        windows = {rel: probes[(c, rel)]["windows"] for rel in usable if probes[(c, rel)].get("windows")}
        if not usable:
            empty.append(c)
            log.warning(f"class {c}: no usable audio file; no output for it")
        plans.append(plan_class(c, usable, target=opts.options.target_samples,
                                max_augmentations=opts.options.max_augmentations,
                                augmentations=opts.options.augmentations, seed=opts.options.seed,
                                keep_all=opts.options.keep_all_originals, windows=windows))
    ignored = {c: len(scans[c].ignored) for c in classes if scans[c].ignored}
    return PoolReport(plans, skipped, ignored, empty, gated=gated, duplicates=duplicates,
                      cross_class=cross_class), probes


# ---------------------------------------------------------------- resume


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


def prepare_output(opts: PoolRun) -> tuple[dict[tuple[str, str], list], dict | None]:
    """Check the output folder against this run's options; return what is already done.

    A pool or journal made with other options is refused unless ``overwrite``.
    """
    out = opts.output_dir
    journal = out / JOURNAL_FILENAME
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"the output folder {out} is not writable")
    meta = load_pool_metadata(out)
    j_params, j_done = read_journal(journal)
    previous = j_params if j_params is not None else (meta or {}).get("params")
    if previous is not None and guard(out, "a pool", previous, opts.identity(), option="--output-dir",
                                      overwrite=opts.overwrite):
        _clear_pool(out, meta)
        meta, j_done = None, {}
    elif previous is None and opts.overwrite:
        _clear_pool(out, meta)
    remove_temporaries(out)
    done = done_from_metadata(meta) if meta else {}
    done.update(j_done)
    return done, meta


def _is_done(task: SourceTask, done: dict, out: Path) -> bool:
    records = done.get((task.class_name, task.key))
    if records is None or [r.filename for r in records] != [f.filename for f in task.files]:
        return False
    return all(os.path.lexists(out / task.class_name / f.filename) for f in task.files)


# ---------------------------------------------------------------- the step


def run_pool(audio_root: str | os.PathLike, output_dir: str | os.PathLike, options: PoolOptions,
             *, num_workers: int = DEFAULT_NUM_WORKERS, specific_classes: tuple[str, ...] = (),
             dry_run: bool = False, overwrite: bool = False, progress: bool = True,
             task_timeout: float = TASK_TIMEOUT, executor: Executor | None = None) -> PoolReport:
    """Run step 1: balance every class of ``audio_root`` (or the ``specific_classes``)
    into the pool ``output_dir``.

    ``executor`` runs the per-file work; None means a pool of ``num_workers`` processes.
    """
    run = PoolRun(Path(audio_root), Path(output_dir), options, num_workers, tuple(specific_classes),
                  dry_run, overwrite, progress, task_timeout)
    return build_pool(run, executor=executor)


def build_pool(opts: PoolRun, *, executor: Executor | None = None) -> PoolReport:
    """The step's work, for one run of given options."""
    start = time.monotonic()
    validate_options(opts)
    noise = check_noise(opts.options)
    animal = opts.options.animal_type
    if "pitch_shift" in opts.options.augmentations and ANIMAL_RANGES[animal].pitch is None:
        log.warning(f"pitch_shift asked for by name: the {animal} animal type never gets one, so it "
                    "takes the general range; peak frequency may identify these species")
    executor = executor or ProcessPool(opts.num_workers)
    report, probes = discover_and_plan(opts, executor)
    if noise is not None:
        for bad in noise.bad:
            log.warning(f"noise file {bad.path}: {bad.reason}; left out")
        report = replace(report, bad_noise=[Skipped(b.path, b.reason) for b in noise.bad])
    if opts.dry_run:
        return report
    with exclusive_run(opts.output_dir, folder=True):
        return _write_pool(opts, report, probes, start, executor, noise)


def _write_pool(opts: PoolRun, report: PoolReport, probes: dict, start: float,
                executor: Executor, noise: NoiseFolderCheck | None) -> PoolReport:
    done, previous = prepare_output(opts)
    tasks = [t for plan in report.plans for t in plan.tasks]
    todo = [t for t in tasks if not _is_done(t, done, opts.output_dir)]
    # Longest first: a long recording with many augmentations must not be the last task
    # left while the other workers idle. Outputs do not depend on the order.
    todo.sort(key=lambda t: -(t.window.frames if t.window else probes[(t.class_name, t.source)]["frames"])
              * (1 + 20 * len(t.augmentations)))
    records = {k: v for k, v in done.items()}
    report = replace(report, reused=sum(len(t.files) for t in tasks) - sum(len(t.files) for t in todo))
    if not todo and previous is not None and _metadata_current(previous, opts, report, records, probes):
        return replace(report, already_complete=True, metadata=previous, seconds=time.monotonic() - start)
    try:
        written, failed = _run_tasks(opts, todo, records, executor, probes, noise)
    finally:  # a worker killed while writing (it died; the run stopped) leaves its temporary
        remove_temporaries(opts.output_dir)
    report = replace(report, written=written, failed_tasks=failed)
    metadata = build_metadata(opts, report, records, probes, previous)
    write_json(opts.output_dir / METADATA_FILENAME, metadata)
    with contextlib.suppress(FileNotFoundError):
        (opts.output_dir / JOURNAL_FILENAME).unlink()
    return replace(report, metadata=metadata, seconds=time.monotonic() - start)


def _metadata_current(previous: dict, opts: PoolRun, report: PoolReport, records: dict,
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


def _run_tasks(opts: PoolRun, todo: list[SourceTask], records: dict, executor: Executor, probes: dict,
               noise: NoiseFolderCheck | None) -> tuple[int, list[Skipped]]:
    """Run the tasks, recording each finished one; return the files written and the failures."""
    written, failed = 0, []
    if not todo:
        return written, failed
    start = time.monotonic()
    o = opts.options
    # in the parent too: forked workers inherit the compiled code
    warm_up(o.augmentations, o.animal_type)
    log.debug(f"warmed up in {time.monotonic() - start:.1f} s")
    journal = opts.output_dir / JOURNAL_FILENAME
    bg = str(o.background_noise_dir.resolve()) if o.background_noise_dir else None
    short = str(o.short_noise_dir.resolve()) if o.short_noise_dir else None
    noise_class = o.background_noise_class if "background_noise" in o.augmentations else None
    noise_sources = tuple(sorted(rel for c, rel in probes if c == noise_class))
    with open(journal, "a", encoding="utf-8") as jf:
        if journal.stat().st_size == 0:
            write_params(jf, opts.identity())
        context = TaskContext(str(opts.audio_root), str(opts.output_dir), o.link_mode, bg,
                              o.animal_type, short, noise_class, noise_sources, o.seed,
                              background_files=tuple(noise.usable) if noise is not None else ())
        for outcome in executor.map(
            partial(execute_task, context), todo, desc="writing pool",
            setup=PoolWorkerSetup(o.augmentations, o.animal_type), timeout=opts.task_timeout,
            progress=opts.progress, weight=lambda t: len(t.files),
        ):
            task = outcome.item
            if outcome.ok:
                records[(task.class_name, task.key)] = outcome.result
                write_done(jf, task.class_name, task.key, outcome.result)
                written += len(task.files)
            else:
                records.pop((task.class_name, task.key), None)
                _remove_outputs(opts.output_dir, task)
                failed.append(Skipped(f"{task.class_name}/{task.key}", outcome.error))
                log.warning(f"{task.class_name}/{task.key}: {outcome.error}")
    log.debug(f"{len(todo)} originals' outputs written in {time.monotonic() - start:.1f} s")
    return written, sorted(failed, key=lambda s: s.path)
