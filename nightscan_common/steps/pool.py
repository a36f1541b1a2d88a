"""Step 1's execution: check the originals, run the plan in workers, write the pool resumably.

The parent discovers and checks files (trusting those whose size, mtime and inode are
as recorded in ``.pool_sources.json``, unless ``verify``), plans every class
(``pool_plan``), keeps the files the pool holds as planned (``pool_rerun``), and sends
one task per original with work left to the workers; a worker decodes its original
once and writes what is missing. Each finished task is appended to a progress journal
in the output folder, so that an interrupted run resumes where it stopped;
``pool_metadata.json`` is written last, from the plan and the journal, in plan order,
then the files the plan no longer wants are removed: the pool is the same bytes as a
fresh build on the same root, whatever the number of workers, interruptions or reruns.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from ..dsp.animals import ANIMAL_RANGES
from ..dsp.augmentations import warm_up
from ..dsp.noise_files import NoiseFolderCheck
from ..errors import UsageError
from ..execution.base import Executor, check_seen, worker_path
from ..execution.cluster import RunOptions
from ..execution.process_pool import ProcessPool
from ..formats.pool_journal import (
    JOURNAL_FILENAME,
    done_from_metadata,
    read_journal,
    start_journal,
    write_done,
)
from ..formats.pool_metadata import METADATA_FILENAME, load_pool_metadata
from ..formats.provenance import guard
from ..formats.source_cache import SOURCES_FILENAME, read_sources, write_sources
from ..io.atomic_write import remove_temporaries, write_json
from ..io.audio_files import scan_audio_files
from ..io.audio_formats import NEEDS_CONVERTING, extension, ignored_reason
from ..io.run_lock import exclusive_run
from ..plans.pool_plan import SourceTask, plan_class
from . import pool_checks
from .pool_annotations import discover_annotations, read_front_door, write_annotations
from .pool_checks import find_duplicates, gate
from .pool_options import (
    UNSTORABLE,
    PoolOptions,
    PoolReport,
    PoolRun,
    Skipped,
    check_noise,
    check_output_layout,
    select_classes,
    unstorable_classes,
    validate_options,
)
from .pool_record import build_metadata, version_record
from .pool_rerun import (
    merge,
    noise_sha_of,
    plan_work,
    priors,
    remove_stale,
    source_changes,
    trusted_entries,
)
from .pool_worker import PoolWorkerSetup, TaskContext, WorkItem, execute_task, task_memory

log = logging.getLogger("nightscan")

# ---------------------------------------------------------------- discovery and plan


def discover_and_plan(opts: PoolRun, executor: Executor | None = None,
                      ) -> tuple[PoolReport, dict[tuple[str, str], dict]]:
    """Find, check and plan every selected class; return the report and the probes."""
    executor = executor or ProcessPool(opts.run.num_workers)
    if opts.annotated is not None:
        return discover_annotations(opts, executor)
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
    probes: dict[tuple[str, str], pool_checks.ProbedOriginal] = {}
    skipped = [Skipped(c, UNSTORABLE) for c in unstorable_classes(opts)]
    skipped += [Skipped(f"{c}/{name}", UNSTORABLE) for c in classes for name in scans[c].unstorable]
    paths = {str(opts.audio_root / c / rel): (c, rel) for c, rel in items}
    cut = opts.options.segment
    probe = partial(pool_checks.probe_original, segment=cut, hop=opts.options.hop) if cut \
        else pool_checks.probe_original
    # size, mtime and inode as recorded: the recorded check is trusted (windows are found anew);
    # a check recorded before the audit is made again
    trusted = {} if opts.verify or opts.overwrite or cut else trusted_entries(opts.output_dir, paths)
    trusted = {p: r for p, e in trusted.items()
               if (r := pool_checks.ProbedOriginal.from_cache(e["identity"], e)) is not None}
    probes.update({paths[p]: r for p, r in trusted.items()})
    if set(paths) - set(trusted):
        pool_checks.warm_up_check()
    for outcome in executor.map(probe, sorted(set(paths) - set(trusted)), desc="checking originals",
                                chunksize=16, setup=PoolWorkerSetup(), timeout=opts.run.timeout,
                                progress=opts.run.progress):
        c, rel = paths[outcome.item]
        if outcome.ok:
            probes[(c, rel)] = outcome.result
        else:
            skipped.append(Skipped(f"{c}/{rel}", outcome.error))
    skipped.sort(key=lambda s: s.path)
    log.debug(f"checked {len(paths) - len(trusted)} originals ({len(trusted)} unchanged) "
              f"in {time.monotonic() - start:.1f} s")
    for c, rel in sorted(probes):
        if probes[(c, rel)].silent_windows:
            log.warning(f"{c}/{rel}: {probes[(c, rel)].silent_windows} window(s) of digital silence "
                        "(every sample zero) left out")
    probes, gated = gate(opts.options, probes)
    probes, duplicates, cross_class = find_duplicates(opts.options, probes)
    plans, empty = [], []
    for c in classes:
        usable = [rel for rel in scans[c].audio if (c, rel) in probes
                  and probes[(c, rel)].windows != ()]  # a recording of silent windows only
        windows = {rel: probes[(c, rel)].windows for rel in usable if probes[(c, rel)].windows}
        if not usable:
            empty.append(c)
            log.warning(f"class {c}: no usable audio file; no output for it")
        plans.append(plan_class(c, usable, target=opts.options.target_samples,
                                max_augmentations=opts.options.max_augmentations,
                                augmentations=opts.options.augmentations, seed=opts.options.seed,
                                keep_all=opts.options.keep_all_originals, windows=windows))
    ignored = {c: len(scans[c].ignored) for c in classes if scans[c].ignored}
    return PoolReport(plans=plans, skipped=skipped, ignored=ignored, empty_classes=empty, gated=gated,
                      duplicates=duplicates,
                      cross_class=cross_class), probes


# ---------------------------------------------------------------- resume


def _clear_pool(output_dir: Path) -> None:
    """Remove what an earlier run wrote (pool-named files, metadata, journal, cache) and only that."""
    for name in (METADATA_FILENAME, JOURNAL_FILENAME, SOURCES_FILENAME):
        with contextlib.suppress(FileNotFoundError):
            (output_dir / name).unlink()
    remove_stale(output_dir, {})


def prepare_output(opts: PoolRun) -> tuple[dict | None, tuple[dict, dict]]:
    """Check the output folder against this run's options; return the metadata and the journal.

    A pool or journal made with other options is refused unless ``overwrite``, which
    always starts from scratch.
    """
    out = opts.output_dir
    journal = out / JOURNAL_FILENAME
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"the output folder {out} is not writable")
    meta = load_pool_metadata(out)
    j_params, j_inputs, j_done = read_journal(journal)
    previous = j_params if j_params is not None else (meta or {}).get("params")
    if previous is not None and not opts.overwrite:
        guard(out, "a pool", previous, opts.identity(), option="--output-dir", overwrite=False)
    if opts.overwrite:
        _clear_pool(out)
        meta, j_inputs, j_done = None, {}, {}
    remove_temporaries(out)
    return meta, (j_inputs, j_done)


# ---------------------------------------------------------------- the step


def run_pool(audio_root: str | os.PathLike, output_dir: str | os.PathLike, options: PoolOptions,
             *, run: RunOptions = RunOptions(), executor: Executor | None = None,
             specific_classes: Sequence[str] = (), dry_run: bool = False, overwrite: bool = False,
             verify: bool = False) -> PoolReport:
    """Run step 1: balance every class of ``audio_root`` (or the ``specific_classes``)
    into the pool ``output_dir``; on a pool that exists, bring it to what a fresh build
    on the root as it is now would hold (``verify``: read every original again).

    ``run`` is how it runs (``run.timeout`` None: ``TASK_TIMEOUT`` per original; ``run.max_memory``
    None: ``default_max_memory()``, the bound on the estimated memory of the tasks running at
    once). ``executor`` runs the per-file work; None means the local pool of ``run.num_workers``
    processes (``open_executor(run)`` makes the one ``run.scheduler`` names).
    """
    opts = PoolRun(audio_root=worker_path(audio_root), output_dir=worker_path(output_dir), options=options,
                   run=run, specific_classes=tuple(specific_classes), dry_run=dry_run, overwrite=overwrite,
                   verify=verify)
    return build_pool(opts, executor=executor)


def build_pool(opts: PoolRun, *, executor: Executor | None = None) -> PoolReport:
    """The step's work, for one run of given options."""
    start = time.monotonic()
    validate_options(opts)
    noise = check_noise(opts.options)
    animal = opts.options.animal_type
    if "pitch_shift" in opts.options.augmentations and ANIMAL_RANGES[animal].pitch is None:
        log.warning(f"pitch_shift asked for by name: the {animal} animal type never gets one, so it "
                    "takes the general range; peak frequency may identify these species")
    executor = executor or ProcessPool(opts.run.num_workers, max_memory=opts.run.max_memory)
    if opts.options.annotations:  # the tables, read and paired before any audio: the classes are their labels
        opts = replace(opts, annotated=read_front_door(opts))
    if opts.dry_run:
        report, probes = discover_and_plan(opts, executor)
        return replace(_with_bad_noise(report, _without_copies(noise, probes)), cluster=executor.describe())
    select_classes(opts)  # a root without classes is refused before the output is made
    with exclusive_run(opts.output_dir, folder=True):  # before any decoding: one run at a time
        check_output_layout(opts)
        report, probes = discover_and_plan(opts, executor)
        noise = _without_copies(noise, probes)
        report = _write_pool(opts, _with_bad_noise(report, noise), probes, start, executor, noise)
        if report.annotations is not None:
            write_annotations(opts.output_dir, report.annotations)
        return replace(report, cluster=executor.describe())


def _without_copies(noise: NoiseFolderCheck | None, probes: dict) -> NoiseFolderCheck | None:
    """The noise folder less its copies of originals; ``UsageError`` if nothing usable is left."""
    if noise is None:
        return None
    noise = pool_checks.noise_copies(noise, probes)
    noise.require_usable()
    return noise


def _with_bad_noise(report: PoolReport, noise: NoiseFolderCheck | None) -> PoolReport:
    """The noise files the up-front check left out, warned of and in the report."""
    if noise is None:
        return report
    for bad in noise.bad:
        log.warning(f"noise file {bad.path}: {bad.reason}; left out")
    return replace(report, bad_noise=[Skipped(b.path, b.reason) for b in noise.bad])


def _write_pool(opts: PoolRun, report: PoolReport, probes: dict, start: float,
                executor: Executor, noise: NoiseFolderCheck | None) -> PoolReport:
    options, out = opts.options, opts.output_dir
    before = {} if opts.overwrite else read_sources(out)
    previous, (j_inputs, j_done) = prepare_output(opts)
    selected = {p.name for p in report.plans}
    in_root = set(select_classes(replace(opts, specific_classes=())))
    kept_classes = {c: e for c, e in (previous or {}).get("classes", {}).items()
                    if c not in selected and c in in_root and opts.specific_classes}
    sources = {f"{c}/{r}": e.cache_entry() for (c, r), e in probes.items()}
    sources |= {k: v for k, v in before.items() if k.split("/", 1)[0] in kept_classes}
    inputs = version_record(opts, sources, report.skipped)
    prior = priors(done_from_metadata(previous, out) if previous else {}, noise_sha_of(previous),
                   j_done, noise_sha_of({"inputs": j_inputs}))
    records, kept_files, todo = plan_work(report.plans, probes, prior, noise=noise_sha_of({"inputs": inputs}),
                                          output_dir=out, audio_root=opts.audio_root,
                                          link_mode=options.link_mode)
    changes = {}
    if previous is not None:
        added, removed, changed = source_changes(before, sources, selected,
                                                 set(previous.get("classes", {})) - in_root)
        changes = {"originals_added": added, "originals_removed": removed, "originals_changed": changed}
    start_journal(out / JOURNAL_FILENAME, opts.identity(), inputs,
                  [(c, k, r) for (c, k), r in records.items() if (c, k) in j_done])
    memory = {id(w): task_memory(w.task, frames=_frames(w.task, probes),
                                 channels=probes[(w.task.class_name, w.task.source)].channels)
              for w in todo}
    too_big = [_too_big(w.task, memory[id(w)], opts) for w in todo if memory[id(w)] > opts.run.max_memory]
    todo = [w for w in todo if memory[id(w)] <= opts.run.max_memory]
    try:
        written, failed = _run_tasks(opts, todo, records, kept_files, executor, probes, memory, noise)
    finally:  # a worker killed while writing (it died; the run stopped) leaves its temporary
        remove_temporaries(out)
    report = replace(report, written=written, failed_tasks=sorted(failed + too_big, key=lambda s: s.path),
                     reused=sum(len(k) for k in kept_files.values()), **changes)
    metadata = build_metadata(opts, report, records, probes, kept_classes, inputs)
    keep = ("created_at",)
    if previous is not None and {k: v for k, v in metadata.items() if k not in keep} == {
            k: v for k, v in previous.items() if k not in keep}:
        metadata = previous  # nothing changed: the file stays as it was
    else:
        write_json(out / METADATA_FILENAME, metadata)
    if sources != before:
        write_sources(out, sources)
    removed_files = remove_stale(out, {c: [f["filename"] for f in e["files"]]
                                       for c, e in metadata["classes"].items()})
    with contextlib.suppress(FileNotFoundError):
        (out / JOURNAL_FILENAME).unlink()
    return replace(report, metadata=metadata, removed=removed_files, seconds=time.monotonic() - start,
                   already_complete=metadata is previous and not todo and not removed_files)


def _frames(task: SourceTask, probes: dict) -> int:
    """The frames a task decodes: its window's (``--segment``), else its original's."""
    return task.window.frames if task.window else probes[(task.class_name, task.source)].frames


def _too_big(task: SourceTask, need: int, opts: PoolRun) -> Skipped:
    """A task that cannot fit in ``--max-memory`` on its own is listed, not started."""
    reason = (f"needs about {_gb(need)} of memory for its augmentations, more than --max-memory "
              f"{_gb(opts.run.max_memory)}: cut the recording into shorter files (--segment), or raise "
              "--max-memory")
    log.warning(f"{task.class_name}/{task.key}: {reason}")
    return Skipped(f"{task.class_name}/{task.key}", reason)


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"


#: Said when the warm-up takes longer than ``WARM_UP_NOTICE_S``: numba compiles librosa's
#: code on a first run (tens of seconds) and loads it from its cache afterwards.
WARMING_UP = ("warming up (first run only): numba compiles librosa's time-stretch code, up to a "
              "minute on a small machine; later runs load it from numba's cache")
WARM_UP_NOTICE_S = 2.0


@contextlib.contextmanager
def said_if_slow(message: str, *, after: float | None = None) -> Iterator[None]:
    """Log ``message`` if the block is still running after ``after`` seconds (silence otherwise)."""
    timer = threading.Timer(WARM_UP_NOTICE_S if after is None else after, log.info, (message,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _run_tasks(opts: PoolRun, todo: list[WorkItem], records: dict, kept_files: dict,
               executor: Executor, probes: dict, memory: dict[int, int], noise: NoiseFolderCheck | None,
               ) -> tuple[int, list[Skipped]]:
    """Run the work left, recording each finished original; return the files made and the failures."""
    written, failed = 0, []
    if not todo:
        return written, failed
    start = time.monotonic()
    o = opts.options
    # only the types left to make: a run that only places originals never loads audiomentations
    needed = tuple(a for a in o.augmentations if any(f.augmentation == a for w in todo for f in w.make))
    # in the parent too: forked workers inherit the compiled code
    with said_if_slow(WARMING_UP):
        warm_up(needed, o.animal_type)
    log.debug(f"warmed up in {time.monotonic() - start:.1f} s")
    bg = str(o.background_noise_dir.resolve()) if o.background_noise_dir else None
    short = str(o.short_noise_dir.resolve()) if o.short_noise_dir else None
    noise_class = o.background_noise_class if "background_noise" in o.augmentations else None
    noise_sources = tuple(sorted(rel for c, rel in probes if c == noise_class))
    with open(opts.output_dir / JOURNAL_FILENAME, "a", encoding="utf-8") as jf:
        # absolute folders: as every worker sees them, whatever its working folder
        context = TaskContext(audio_root=str(opts.audio_root.resolve()),
                              output_dir=str(opts.output_dir.resolve()), link_mode=o.link_mode,
                              background_dir=bg, animal_type=o.animal_type, short_noise_dir=short,
                              noise_class=noise_class, noise_sources=noise_sources, seed=o.seed,
                              background_files=tuple(noise.usable) if noise is not None else (),
                              class_folders=not o.annotations)
        for outcome in executor.map(
            partial(execute_task, context), todo, desc="writing pool",
            setup=PoolWorkerSetup(needed, o.animal_type), timeout=opts.run.timeout,
            progress=opts.run.progress, weight=lambda w: w.weight, memory=lambda w: memory[id(w)],
        ):
            task = outcome.item.task
            key = (task.class_name, task.key)
            if outcome.ok:
                check_seen([opts.output_dir / task.class_name / r.filename for r in outcome.result],
                           out_dir=opts.output_dir)
                records[key] = merge(task, kept_files[key], outcome.result)
                write_done(jf, task.class_name, task.key, records[key])
                written += outcome.item.weight
            else:  # its files, kept or half made, are unlisted now: the final sweep removes them
                records.pop(key, None)
                failed.append(Skipped(f"{task.class_name}/{task.key}", outcome.error))
                log.warning(f"{task.class_name}/{task.key}: {outcome.error}")
    log.debug(f"{len(todo)} originals' outputs written in {time.monotonic() - start:.1f} s")
    return written, sorted(failed, key=lambda s: s.path)
