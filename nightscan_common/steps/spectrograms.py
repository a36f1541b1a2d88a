"""Step 3: one spectrogram per index row, into a store, with its settings and failure list.

The output folder holds ``spectrogram_config.json`` (every setting and the tool version,
written first), ``failures.json`` (files that could not be used, with the reason),
``warnings.json`` (files whose rate does not fit the settings') and the spectrograms,
laid out by the store (``formats/tree_store.py`` by default). A rerun with the same
settings computes only what the store does not hold; a rerun with other settings is
refused unless asked to overwrite.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..dsp.spectrogram import FIXED_PARAMETERS, SpectrogramConfig, log_mel_spectrogram
from ..errors import OutputConflictError, UsageError
from ..execution.base import Executor, pin_native_threads
from ..execution.process_pool import ProcessPool
from ..formats.index_db import SPLITS, read_index_rows
from ..formats.provenance import guard
from ..formats.spectrogram_store import SlotWriter, SpectrogramStore
from ..formats.tree_store import TreeStore
from ..io.atomic_write import remove_temporaries, write_json
from ..io.audio_files import is_inside
from ..io.audio_window import read_window
from ..io.run_lock import exclusive_run
from ..plans.spectrogram_plan import Failure, Job, plan_jobs
from ..reports import plain
from .spectrogram_warnings import WARNINGS_FILENAME, RateWarning, rate_warnings, summary_lines, write_warnings

log = logging.getLogger("nightscan.spectrograms")

DEFAULT_OUTPUT_DIR = "data/spectrograms_balanced"
CONFIG_FILENAME = "spectrogram_config.json"
FAILURES_FILENAME = "failures.json"
CONFIG_FORMAT_VERSION = 1
#: Bound on one file's work, in seconds: a one-hour recording with ``loudest`` takes seconds.
ITEM_TIMEOUT = 600.0
_MAX_CHUNK = 16
_SHOWN_CONFLICTS = 5


@dataclass
class SplitCounts:
    """One split's files: written by this run, skipped as already done, failed."""

    written: int = 0
    skipped: int = 0
    failed: int = 0


@dataclass
class SpectrogramReport:
    """What a run did, for the summary table and the exit status."""

    out_dir: Path
    counts: dict[str, SplitCounts] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    warnings: list[RateWarning] = field(default_factory=list)  # also in warnings.json
    warning_lines: list[str] = field(default_factory=list)  # the summary's, one per kind and rate
    bytes_on_disk: int = 0
    unindexed_files: int = 0

    @property
    def failures_path(self) -> Path:
        return self.out_dir / FAILURES_FILENAME

    @property
    def status(self) -> int:
        """0 every row written; 1 when some are listed in failures.json."""
        return 1 if self.failures else 0

    def to_dict(self) -> dict[str, Any]:
        return {**plain(self), "status": self.status}


# --- the output folder ---------------------------------------------------------------


def settings_record(config: SpectrogramConfig, *, preset: str | None) -> dict[str, Any]:
    """What ``spectrogram_config.json`` holds: every setting, the shape, the tool version."""
    return {
        "format_version": CONFIG_FORMAT_VERSION,
        "tool_version": __version__,
        "animal_type": preset,
        "spectrogram": config.to_dict(),
        "fixed": dict(FIXED_PARAMETERS),
        "shape": list(config.shape),
    }


def _recorded(settings: Any) -> dict[str, Any]:
    """What must match for equal files: every setting and the fixed parameters (the tool
    version and the preset's name do not count)."""
    if not isinstance(settings, dict) or not isinstance(settings.get("spectrogram"), dict):
        return {"settings": "in an unknown format"}
    return {**settings["spectrogram"], **{f"fixed {k}": v for k, v in (settings.get("fixed") or {}).items()}}


def _read_settings(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unreadable"


def check_output_folder(out_dir: Path, store: SpectrogramStore, settings: dict[str, Any], *,
                        overwrite: bool) -> bool:
    """Whether ``spectrogram_config.json`` must be (re)written; refuse mixing settings.

    ``OutputConflictError`` when the folder holds spectrograms made with other
    settings, or of unknown settings, and ``overwrite`` is false.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--output-dir {out_dir} exists and is not a folder")
    config_path = out_dir / CONFIG_FILENAME
    if overwrite:
        return True
    if config_path.exists():
        old = _recorded(_read_settings(config_path))
        return guard(out_dir, "spectrograms", old, _recorded(settings), option="--output-dir",
                     overwrite=False)
    if store.holds_output():
        raise OutputConflictError(
            f"{out_dir} holds spectrograms but no {CONFIG_FILENAME}, so their settings are "
            "unknown; use another --output-dir, or --overwrite to delete them and start again")
    return True


def remove_previous_output(out_dir: Path, store: SpectrogramStore) -> int:
    """Delete what this tool wrote below ``out_dir``; return how many spectrograms went.

    .. note:: Only the store's own files, the config, failures.json and warnings.json
       are deleted; other files stay.
    """
    removed = store.remove_own()
    for name in (CONFIG_FILENAME, FAILURES_FILENAME, WARNINGS_FILENAME):
        (out_dir / name).unlink(missing_ok=True)
    return removed


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
    writer: SlotWriter


def spectrogram_of(source: str | os.PathLike, config: SpectrogramConfig) -> np.ndarray:
    """Read ``source``'s window and compute its spectrogram."""
    samples = read_window(source, sample_rate=config.sample_rate, n_samples=config.n_samples,
                          crop=config.crop, hop_length=config.hop_length)
    return log_mel_spectrogram(samples, config)


def _run_job(ctx: JobContext, job: Job) -> dict:
    source = os.path.join(ctx.pool_root, *job.source.split("/"))
    return ctx.writer.put(job, spectrogram_of(source, ctx.config))


# --- the step ------------------------------------------------------------------------


def run_spectrograms(
    index_db: str | os.PathLike,
    pool_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    config: SpectrogramConfig,
    *,
    splits: Sequence[str] = SPLITS,
    num_workers: int = 1,
    overwrite: bool = False,
    preset: str | None = None,
    progress: bool = True,
    item_timeout: float = ITEM_TIMEOUT,
    executor: Executor | None = None,
    store: SpectrogramStore | None = None,
) -> SpectrogramReport:
    """Write one spectrogram per index row of ``splits``; return what was done.

    Usage errors (bad settings, unreadable index, two rows with one output, an output
    made with other settings) are raised before anything is written. Files that cannot
    be used are listed in ``failures.json``; every other file is written. ``executor``
    runs the jobs; None means a pool of ``num_workers`` processes (fewer for fewer jobs).
    ``store`` holds the spectrograms; None means the .npy tree below ``out_dir``.
    """
    pool_root, out_dir = Path(pool_root), Path(out_dir)
    config.validate()
    _check_folders(pool_root, out_dir)
    rows = read_index_rows(index_db, tuple(splits))
    if not rows:
        raise UsageError(f"{index_db} holds no rows in split(s) {', '.join(splits)}: nothing to do")
    jobs, refused = plan_jobs(rows)
    _check_pool_matches(jobs, pool_root)
    settings = settings_record(config, preset=preset)
    store = store or TreeStore(out_dir)
    check_output_folder(out_dir, store, settings, overwrite=overwrite)  # refuse before creating anything
    with exclusive_run(out_dir, folder=True):  # a second run into the same folder is refused
        # again under the lock: a run that just finished may have written other settings
        write_config = check_output_folder(out_dir, store, settings, overwrite=overwrite)
        if overwrite:
            removed = remove_previous_output(out_dir, store)
            log.info("--overwrite: removed %d spectrogram(s) of the previous run", removed)
        elif stale := remove_temporaries(out_dir):
            log.info("removed %d partial file(s) left by an interrupted run", stale)
        if write_config:
            write_json(out_dir / CONFIG_FILENAME, settings)

        store.prepare(jobs, overwrite=overwrite)
        report = SpectrogramReport(out_dir, {s: SplitCounts() for s in splits})
        done = store.done(jobs)
        todo = []
        for job in jobs:
            if job.key in done:
                report.counts[job.split].skipped += 1
            else:
                todo.append(job)
        log.info("%d spectrogram(s) to make, %d already done", len(todo), len(jobs) - len(todo))
        try:
            failures = list(refused) + _compute(todo, config, pool_root, store, report,
                                                num_workers=num_workers, progress=progress,
                                                timeout=item_timeout, executor=executor)
        finally:  # a worker killed while writing (it died; the run stopped) leaves its temporary
            store.sweep()
            remove_temporaries(out_dir)
        store.finalize()
        for failure in failures:
            report.counts.setdefault(failure.split, SplitCounts()).failed += 1
        report.failures = sorted(failures)
        _write_failures(report)
        report.warnings = rate_warnings(jobs, {f.path for f in failures}, pool_root, config)
        write_warnings(out_dir / WARNINGS_FILENAME, report.warnings)
        report.warning_lines = summary_lines(report.warnings, config)
        report.bytes_on_disk = store.bytes_on_disk()
        report.unindexed_files = store.count_unlisted(splits)
        return report


def _check_folders(pool_root: Path, out_dir: Path) -> None:
    if not pool_root.exists():
        raise UsageError(f"--pool-root {pool_root} not found")
    if not pool_root.is_dir():
        raise UsageError(f"--pool-root {pool_root} is not a folder")
    if is_inside(out_dir, pool_root):
        raise UsageError(f"--output-dir {out_dir} is inside --pool-root {pool_root}, which is never "
                         "written to; choose an output folder outside the pool")


def _check_pool_matches(jobs: Sequence[Job], pool_root: Path) -> None:
    """A pool root that holds none of the indexed files is a wrong option, not N failures."""
    if jobs and not any((pool_root / job.source).exists() for job in jobs):
        raise UsageError(f"none of the {len(jobs)} indexed files is below --pool-root {pool_root}; "
                         "give the pool folder the index was built from")


def _compute(todo: list[Job], config: SpectrogramConfig, pool_root: Path, store: SpectrogramStore,
             report: SpectrogramReport, *, num_workers: int, progress: bool, timeout: float,
             executor: Executor | None) -> list[Failure]:
    """Run the jobs in the executor; count what was written, return what failed."""
    if not todo:
        return []
    setup = SpectrogramWorkerSetup(config)
    log_mel_spectrogram(np.zeros(config.n_fft, np.float32), config)  # forked workers inherit it
    executor = executor or ProcessPool(max(1, min(num_workers, len(todo))))
    chunk = max(1, min(_MAX_CHUNK, len(todo) // (executor.num_workers * 8)))
    failures: list[Failure] = []
    context = JobContext(config, str(pool_root), store.writer())
    for outcome in executor.map(partial(_run_job, context), todo, desc="spectrograms",
                                setup=setup, chunksize=chunk, timeout=timeout, progress=progress):
        job = outcome.item
        if outcome.ok:
            store.record(job, outcome.result)
            report.counts[job.split].written += 1
        else:
            log.debug("failed: %s: %s", job.source, outcome.error)
            failures.append(Failure(job.source, outcome.error or "unknown error", job.split))
    return failures


def _write_failures(report: SpectrogramReport) -> None:
    """``failures.json`` lists this run's failures; a clean run removes an older list."""
    if not report.failures:
        report.failures_path.unlink(missing_ok=True)
        return
    listed = [{"path": f.path, "reason": f.reason} for f in report.failures]
    try:
        if json.loads(report.failures_path.read_text(encoding="utf-8")) == listed:
            return  # a rerun that changed nothing leaves the file as it was
    except (OSError, ValueError):
        pass
    write_json(report.failures_path, listed)
