"""Step 3: one spectrogram per index row, into a store, with its settings and failure list.

The output folder holds ``spectrogram_config.json`` (every setting and the tool version,
written first), ``labels.json`` (one class -> index map from the whole index, the same
in every layout), ``failures.json`` (files that could not be used, with the reason),
``warnings.json`` (files whose rate does not fit the settings'), ``windows.json`` (where
each file's window was taken, ``formats/window_manifest.py``) and the spectrograms, laid
out by the store of the chosen layout (``formats/layouts.py``; the .npy tree by
default). A rerun with the same settings computes only what the store does not hold; a
rerun with other settings is refused unless asked to overwrite. A spectrogram is kept
only when it was made from the pool file the index names as that file is now (its
size, mtime and inode, in the store's manifest; and its content's sha256 for a pool file
that is a link, or for every file with ``verify``: ``spectrogram_inputs``), in every
layout; one whose source changed is recomputed, and the outputs of rows the index no
longer holds are removed.
The config records the index it was made from (``inputs``).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..dsp.band_check import ClassBand, band_warnings, class_bands
from ..dsp.spectrogram import SpectrogramConfig, log_mel_spectrogram
from ..errors import UsageError
from ..execution.base import (
    ClusterUse,
    Executor,
    check_seen,
    pin_native_threads,
    worker_path,
)
from ..execution.cluster import RunOptions
from ..execution.process_pool import ProcessPool
from ..formats.catalog import ArraySpec
from ..formats.index_db import POOL_SHA_KEY, read_class_names, read_index_info, read_index_rows
from ..formats.labels import label_map, labels_to_write, write_labels
from ..formats.layouts import DEFAULT_LAYOUT, make_store, other_stores
from ..formats.pool_metadata import METADATA_FILENAME
from ..formats.provenance import check_index_pool
from ..formats.spectrogram_folder import (
    CONFIG_FILENAME,
    FAILURES_FILENAME,
    WARNINGS_FILENAME,
    check_output_folder,
    inputs_recorded,
    remove_previous_output,
    settings_record,
    write_failures,
    write_list,
)
from ..formats.spectrogram_store import SlotWriter, SpectrogramStore
from ..formats.tree_store import TreeStore
from ..formats.webdataset_store import DEFAULT_SHARD_SIZE
from ..formats.window_manifest import above_rate_warning, read_windows, write_windows
from ..io.atomic_write import remove_temporaries, write_json
from ..io.audio_files import is_inside
from ..io.audio_io import preload_resampler
from ..io.audio_window import read_window_choice
from ..io.file_hash import file_sha256
from ..io.run_lock import exclusive_run
from ..plans.spectrogram_plan import plan_jobs
from ..vocabulary import SPLITS, Failure, Job, plain
from .spectrogram_inputs import index_inputs, with_source_ids
from .spectrogram_warnings import RateWarning, listed, rate_warnings, summary_lines

log = logging.getLogger("nightscan.spectrograms")

DEFAULT_OUTPUT_DIR = "data/spectrograms_balanced"
#: Bound on one file's work, in seconds: a one-hour recording with ``loudest`` takes seconds.
ITEM_TIMEOUT = 600.0
_MAX_CHUNK = 16
_SHOWN_CONFLICTS = 5


@dataclass(frozen=True)
class SplitCounts:
    """One split's files: written by this run, skipped as already done, failed."""

    written: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass(frozen=True, kw_only=True)
class SpectrogramReport:
    """What a run did, built once it is over: for the summary table and the exit status."""

    out_dir: Path
    layout: str = DEFAULT_LAYOUT
    counts: dict[str, SplitCounts] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    bytes_on_disk: int = 0
    recomputed: int = 0  # held, but made from a source that changed since
    removed: int = 0  # outputs of rows the index no longer holds
    warnings: list[str] = field(default_factory=list)  # the summary's, one line per kind and rate
    rate_warnings: list[RateWarning] = field(default_factory=list)  # per file, as in warnings.json
    cluster: ClusterUse | None = None  # the Dask cluster that ran it (--scheduler)
    bands: list[ClassBand] = field(default_factory=list)  # each class's energy inside the band

    @property
    def failures_path(self) -> Path:
        return self.out_dir / FAILURES_FILENAME

    @property
    def status(self) -> int:
        """0 every row written; 1 when some are listed in failures.json."""
        return 1 if self.failures else 0

    def to_dict(self) -> dict[str, Any]:
        return {**plain(self), "status": self.status}


# --- the workers ---------------------------------------------------------------------

@dataclass(frozen=True)
class SpectrogramWorkerSetup:
    """Once per worker: BLAS on one thread, the mel filter bank and numba code warmed."""

    config: SpectrogramConfig

    def __call__(self) -> None:
        pin_native_threads()
        log_mel_spectrogram(np.zeros(self.config.n_fft, np.float32), self.config)


@dataclass(frozen=True)
class JobContext:
    """What every job of a run shares, sent with it: the settings, the pool, the writer."""

    config: SpectrogramConfig
    pool_root: str
    writer: SlotWriter | None


def window_of(source: str | os.PathLike, config: SpectrogramConfig) -> tuple[np.ndarray, dict[str, Any]]:
    """``source``'s window (``loudest``: by the energy within the preset's band) and where it lies."""
    samples, choice = read_window_choice(
        source, sample_rate=config.sample_rate, n_samples=config.n_samples, crop=config.crop,
        hop_length=config.hop_length, band=(config.fmin, config.fmax), pad=config.pad)
    return samples, choice.to_dict(config.sample_rate)


def spectrogram_of(source: str | os.PathLike, config: SpectrogramConfig) -> np.ndarray:
    """Read ``source``'s window and compute its spectrogram."""
    return log_mel_spectrogram(window_of(source, config)[0], config)


def _run_job(ctx: JobContext, job: Job) -> tuple[dict, dict[str, Any]]:
    """The store's receipt and the window's manifest entry."""
    source = os.path.join(ctx.pool_root, *job.source.split("/"))
    samples, window = window_of(source, ctx.config)
    return ctx.writer.put(job, log_mel_spectrogram(samples, ctx.config)), {"path": job.source, **window}


def _window_job(ctx: JobContext, job: Job) -> dict[str, Any]:
    """The manifest entry alone, for a file done by a run that stopped before writing it."""
    return {"path": job.source, **window_of(os.path.join(ctx.pool_root, *job.source.split("/")),
                                            ctx.config)[1]}


# --- the step ------------------------------------------------------------------------


def run_spectrograms(
    index_db: str | os.PathLike,
    pool_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: SpectrogramConfig,
    *,
    run: RunOptions = RunOptions(),
    executor: Executor | None = None,
    splits: Sequence[str] = SPLITS,
    overwrite: bool = False,
    preset: str | None = None,
    layout: str = DEFAULT_LAYOUT,
    shard_size: int = DEFAULT_SHARD_SIZE,
    store: SpectrogramStore | None = None,
    verify: bool = False,
    allow_pool_mismatch: bool = False,
) -> SpectrogramReport:
    """Write one spectrogram per index row of ``splits``; return what was done.

    Usage errors (bad settings, unreadable index, two rows with one output, an output
    made with other settings) are raised before anything is written. Files that cannot
    be used are listed in ``failures.json``; every other file is written. ``run`` is how it
    runs (``run.timeout`` None: ``ITEM_TIMEOUT`` per file). ``executor`` runs the jobs; None
    means the local pool of ``run.num_workers`` processes, fewer for fewer jobs
    (``open_executor(run)`` makes the one ``run.scheduler`` names).
    ``store`` holds the spectrograms; None means the store of ``layout`` below ``out_dir``
    (``shard_size`` samples per shard for ``webdataset``). ``verify``: check every pool
    file by its content (sha256), not only those that are links. An index made from another
    pool than ``pool_root``'s is refused unless ``allow_pool_mismatch`` (then a warning).
    """
    pool_root, out_dir = worker_path(pool_root), worker_path(out_dir)
    run = replace(run, timeout=ITEM_TIMEOUT if run.timeout is None else run.timeout)
    config.validate()
    _check_folders(pool_root, out_dir)
    other_pool = _check_index_pool(index_db, pool_root, allow=allow_pool_mismatch)
    rows = read_index_rows(index_db, tuple(splits))
    if not rows:
        raise UsageError(f"{index_db} holds no rows in split(s) {', '.join(splits)}: nothing to do")
    jobs, refused = plan_jobs(rows)
    _check_pool_matches(jobs, pool_root)
    settings = settings_record(config, preset=preset) | {"inputs": index_inputs(index_db, jobs)}
    labels = label_map(read_class_names(index_db))  # all splits: one numbering for every split
    store = store or make_store(layout, out_dir, spec=ArraySpec(config.shape, config.dtype),
                                labels=labels, index_db=index_db, shard_size=shard_size)
    others = other_stores(store.layout, out_dir, spec=ArraySpec(config.shape, config.dtype),
                          labels=labels, index_db=index_db)  # every layout's files are the folder's
    check_output_folder(out_dir, store, settings, overwrite=overwrite, others=others)  # before creating
    with exclusive_run(out_dir, folder=True):  # a second run into the same folder is refused
        # again under the lock: a run that just finished may have written other settings
        write_config = check_output_folder(out_dir, store, settings, overwrite=overwrite, others=others)
        write_labels_file = labels_to_write(out_dir, labels, overwrite=overwrite)
        if overwrite:
            removed = remove_previous_output(out_dir, store, others)
            log.info("--overwrite: removed %d spectrogram(s) of the previous run", removed)
        elif stale := remove_temporaries(out_dir):
            log.info("removed %d partial file(s) left by an interrupted run", stale)
        if write_config or not inputs_recorded(out_dir / CONFIG_FILENAME, settings):
            write_json(out_dir / CONFIG_FILENAME, settings)
        if write_labels_file:
            write_labels(out_dir, labels)

        manifest = getattr(store, "manifest", None)  # what each output was made from, before this run
        jobs, hashed = with_source_ids(jobs, pool_root, verify=verify, progress=run.progress,
                                       previous=manifest.load() if manifest is not None else {})
        log.info("%d pool file(s) checked by their content", hashed)
        store.prepare(jobs, overwrite=overwrite)
        removed = store.remove_unlisted(splits)
        recomputed = len(store.stale(jobs))
        done = store.done(jobs)
        todo = [job for job in jobs if job.key not in done]
        skipped = Counter(job.split for job in jobs if job.key in done)
        log.info("%d spectrogram(s) to make, %d already done", len(todo), len(jobs) - len(todo))
        header = {"sample_rate": config.sample_rate, "crop": config.crop, "pad": config.pad}
        keys = {job.key for job in jobs}  # the windows of rows gone go with their spectrograms
        windows = {k: v for k, v in read_windows(out_dir, header=header).items()
                   if k in keys or k.split("/", 1)[0] not in splits}
        try:
            written, failed = _compute(todo, config, pool_root, store, windows, run=run, executor=executor)
            missing = [j for j in jobs if j.key in done and j.key not in windows]
            _compute(missing, config, pool_root, None, windows, run=run, executor=executor)
        finally:  # a worker killed while writing (it died; the run stopped) leaves its temporary
            store.sweep()
            remove_temporaries(out_dir)
        store.finalize()
        failures = [*refused, *failed]
        failed_in = Counter(f.split for f in failures)
        counts = {s: SplitCounts(written[s], skipped[s], failed_in[s])
                  for s in dict.fromkeys([*splits, *(f.split for f in failures)])}
        write_failures(out_dir / FAILURES_FILENAME, sorted(failures))
        write_windows(out_dir, header, windows)
        per_file = rate_warnings(windows, config)
        write_list(out_dir / WARNINGS_FILENAME, listed(per_file))
        executor_use = executor.describe() if executor is not None else None
        warning = above_rate_warning(windows, sample_rate=config.sample_rate, fmax=config.fmax, preset=preset)
        bands = class_bands(windows, config, preset=preset)
        return SpectrogramReport(out_dir=out_dir, layout=store.layout, counts=counts,
                                 failures=sorted(failures), bytes_on_disk=store.bytes_on_disk(),
                                 recomputed=recomputed, removed=removed,
                                 warnings=[*filter(None, [other_pool])] + band_warnings(bands)
                                 + ([warning] if warning else [])
                                 + summary_lines(per_file, config),
                                 rate_warnings=per_file, bands=bands, cluster=executor_use)


def _check_folders(pool_root: Path, out_dir: Path) -> None:
    if not pool_root.exists():
        raise UsageError(f"--pool-root {pool_root} not found")
    if not pool_root.is_dir():
        raise UsageError(f"--pool-root {pool_root} is not a folder")
    if is_inside(out_dir, pool_root):
        raise UsageError(f"--output-dir {out_dir} is inside --pool-root {pool_root}, which is never "
                         "written to; choose an output folder outside the pool")


def _check_index_pool(index_db: str | os.PathLike, pool_root: Path, *, allow: bool) -> str | None:
    """The index must come from this pool (the checksum of its metadata, as step 2 recorded it)."""
    metadata = pool_root / METADATA_FILENAME
    recorded = (read_index_info(index_db) or {}).get(POOL_SHA_KEY)
    current = file_sha256(metadata) if metadata.is_file() else None
    return check_index_pool(index_db, recorded, metadata, current, allow=allow)


def _check_pool_matches(jobs: Sequence[Job], pool_root: Path) -> None:
    """A pool root that holds none of the indexed files is a wrong option, not N failures."""
    if jobs and not any((pool_root / job.source).exists() for job in jobs):
        raise UsageError(f"none of the {len(jobs)} indexed files is below --pool-root {pool_root}; "
                         "give the pool folder the index was built from")


def _compute(todo: list[Job], config: SpectrogramConfig, pool_root: Path, store: SpectrogramStore | None,
             windows: dict[str, dict], *, run: RunOptions,
             executor: Executor | None) -> tuple[Counter[str], list[Failure]]:
    """Run the jobs in the executor; return how many each split wrote, and what failed.

    Each job's window goes into ``windows``; with no ``store``, only the windows are found
    (files already written, whose manifest entry a stopped run did not keep).
    """
    written: Counter[str] = Counter()
    if not todo:
        return written, []
    setup = SpectrogramWorkerSetup(config)
    log_mel_spectrogram(np.zeros(config.n_fft, np.float32), config)  # forked workers inherit it
    preload_resampler()  # and this import
    executor = executor or ProcessPool(max(1, min(run.num_workers, len(todo))))
    chunk = max(1, min(_MAX_CHUNK, len(todo) // (executor.num_workers * 8)))
    failures: list[Failure] = []
    # the pool's absolute path: as every worker sees it, whatever its working folder
    context = JobContext(config, str(pool_root.resolve()), store.writer() if store else None)
    task = partial(_run_job if store else _window_job, context)
    for outcome in executor.map(task, todo, desc="spectrograms" if store else "windows",
                                setup=setup, chunksize=chunk, timeout=run.timeout, progress=run.progress):
        job = outcome.item
        if outcome.ok and store is None:
            windows[job.key] = outcome.result
        elif outcome.ok:
            receipt, windows[job.key] = outcome.result
            if isinstance(store, TreeStore):  # one file per row: the parent sees it, or the run stops
                check_seen([store.path(job.key)], out_dir=store.root)
            store.record(job, receipt)
            written[job.split] += 1
        else:
            log.debug("failed: %s: %s", job.source, outcome.error)
            failures.append(Failure(job.source, outcome.error or "unknown error", job.split))
    return written, failures
