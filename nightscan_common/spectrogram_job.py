"""Step 3's logic: plan one .npy per index row, guard the output folder, run the workers.

Output layout (the very paths NightScan's loader builds)::

    <out>/<split>/<class_name>/<stem of file_path>.npy
    <out>/spectrogram_config.json    every setting and the tool version, written first
    <out>/failures.json              files that could not be used, with the reason

Each .npy is written to a temporary name and renamed, so a file's presence means it is
complete: a rerun with the same settings computes only what is missing, and a rerun
with other settings is refused unless asked to overwrite.
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from . import __version__
from .atomic_write import remove_temporaries, write_bytes, write_json
from .audio_files import is_inside
from .audio_window import read_window
from .errors import OutputConflictError, UsageError
from .index_schema import SPLITS, IndexRow, read_index_rows
from .execution.base import Executor, pin_native_threads
from .execution.process_pool import ProcessPool
from .run_lock import exclusive_run
from .spectrogram import FIXED_PARAMETERS, SpectrogramConfig, log_mel_spectrogram

log = logging.getLogger("nightscan.spectrograms")

DEFAULT_OUTPUT_DIR = "data/spectrograms_balanced"
CONFIG_FILENAME = "spectrogram_config.json"
FAILURES_FILENAME = "failures.json"
CONFIG_FORMAT_VERSION = 1
#: Bound on one file's work, in seconds: a one-hour recording with ``loudest`` takes seconds.
ITEM_TIMEOUT = 600.0
_MAX_CHUNK = 16
_SHOWN_CONFLICTS = 5


@dataclass(frozen=True, order=True)
class Job:
    """One spectrogram to make: ``source`` relative to the pool, ``target`` to the output."""

    target: str
    source: str
    split: str


@dataclass(frozen=True, order=True)
class Failure:
    """An index row that gave no spectrogram, and why."""

    path: str
    reason: str
    split: str = ""


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
    bytes_on_disk: int = 0
    unindexed_files: int = 0

    @property
    def failures_path(self) -> Path:
        return self.out_dir / FAILURES_FILENAME


# --- planning ------------------------------------------------------------------------


def unsafe_reason(row: IndexRow) -> str | None:
    """Why a row's paths could reach outside the pool or the output folder, or None.

    Index rows come from a file anyone can edit: ``..``, absolute paths and NUL are
    refused rather than followed.
    """
    for name in ("file_path", "class_name"):
        value = getattr(row, name)
        if not isinstance(value, str) or not value:
            return f"{name} is not a non-empty text ({value!r})"
        if "\x00" in value:
            return f"{name} holds a NUL character"
    if row.file_path.startswith("/"):
        return f"file_path is absolute ({row.file_path!r}); the index holds paths relative to the pool"
    if any(part in ("", ".", "..") for part in row.file_path.split("/")):
        return f"file_path is not a plain relative path ({row.file_path!r}): it could escape the pool"
    if "/" in row.class_name or row.class_name in (".", ".."):
        return f"class_name is not a plain folder name ({row.class_name!r}): it could escape the output"
    if row.split not in SPLITS:
        return f"split is not one of {', '.join(SPLITS)} ({row.split!r})"
    return None


def output_name(file_path: str) -> str:
    """``<stem of file_path>.npy``: the file name without its last extension.

    ``Path.stem``'s rules, since that is how NightScan's loader builds the name
    (``a.`` keeps its dot, ``.hidden`` has no extension).
    """
    return f"{PurePosixPath(file_path).stem}.npy"


def plan_jobs(rows: Iterable[IndexRow]) -> tuple[list[Job], list[Failure]]:
    """One job per usable row, sorted by target, and the rows refused as unsafe.

    ``UsageError`` when two rows would write one output file: reported before any
    work, since one spectrogram would silently replace the other.
    """
    jobs: list[Job] = []
    refused: list[Failure] = []
    for row in rows:
        reason = unsafe_reason(row)
        if reason:
            refused.append(Failure(str(row.file_path), reason, str(row.split)))
            continue
        target = f"{row.split}/{row.class_name}/{output_name(row.file_path)}"
        jobs.append(Job(target, row.file_path, row.split))
    jobs.sort()
    _refuse_shared_targets(jobs)
    return jobs, sorted(refused)


def _refuse_shared_targets(jobs: Sequence[Job]) -> None:
    by_target: dict[str, list[str]] = defaultdict(list)
    for job in jobs:
        by_target[job.target].append(job.source)
    shared = {t: s for t, s in by_target.items() if len(s) > 1}
    if not shared:
        return
    shown = "; ".join(f"{t} <- {', '.join(s)}" for t, s in sorted(shared.items())[:_SHOWN_CONFLICTS])
    more = f" (and {len(shared) - _SHOWN_CONFLICTS} more)" if len(shared) > _SHOWN_CONFLICTS else ""
    raise UsageError(
        f"{len(shared)} output file(s) would each be written by several index rows: {shown}{more}; "
        "give those recordings distinct names in the pool and rebuild the index")


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


def _same_settings(old: Any, new: dict[str, Any]) -> bool:
    """Equal settings make equal files; the tool version and the preset's name do not count."""
    return isinstance(old, dict) and all(old.get(k) == new[k] for k in ("spectrogram", "fixed"))


def _differences(old: Any, new: dict[str, Any]) -> str:
    """``n_mels 64 -> 128``-style list of what changed, for the refusal message."""
    before = old.get("spectrogram") if isinstance(old, dict) else None
    if not isinstance(before, dict):
        return "settings in an unknown format"
    changed = [f"{k} {before.get(k)!r} -> {v!r}" for k, v in new["spectrogram"].items() if before.get(k) != v]
    return ", ".join(changed) or "fixed parameters differ"


def _read_settings(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unreadable"


def _our_npy_files(out_dir: Path, splits: Iterable[str] = SPLITS) -> Iterable[Path]:
    """The ``<split>/<class>/*.npy`` files below ``out_dir``: what this tool writes.

    Symbolic links to folders are not followed, so nothing outside the folder is reached.
    """
    for split in splits:
        split_dir = out_dir / split
        if split_dir.is_symlink() or not split_dir.is_dir():
            continue
        for class_entry in sorted(os.scandir(split_dir), key=lambda e: e.name):
            if not class_entry.is_dir(follow_symlinks=False):
                continue
            for entry in sorted(os.scandir(class_entry.path), key=lambda e: e.name):
                if entry.name.endswith(".npy") and entry.is_file(follow_symlinks=False):
                    yield Path(entry.path)


def check_output_folder(out_dir: Path, settings: dict[str, Any], *, overwrite: bool) -> bool:
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
        old = _read_settings(config_path)
        if _same_settings(old, settings):
            return False
        raise OutputConflictError(
            f"{out_dir} holds spectrograms made with other settings ({_differences(old, settings)}); "
            "use another --output-dir, or --overwrite to delete them and start again")
    if next(iter(_our_npy_files(out_dir)), None) is not None:
        raise OutputConflictError(
            f"{out_dir} holds .npy spectrograms but no {CONFIG_FILENAME}, so their settings are "
            "unknown; use another --output-dir, or --overwrite to delete them and start again")
    return True


def remove_previous_output(out_dir: Path) -> int:
    """Delete what this tool wrote below ``out_dir``; return how many .npy files went.

    .. note:: Only ``<split>/<class>/*.npy``, our temporaries, the config and
       failures.json are deleted, then the folders left empty; other files stay.
    """
    removed = 0
    for path in list(_our_npy_files(out_dir)):
        path.unlink()
        removed += 1
    remove_temporaries(out_dir)
    for name in (CONFIG_FILENAME, FAILURES_FILENAME):
        (out_dir / name).unlink(missing_ok=True)
    for split in SPLITS:
        split_dir = out_dir / split
        if split_dir.is_symlink() or not split_dir.is_dir():
            continue
        for class_dir in split_dir.iterdir():
            if class_dir.is_dir() and not class_dir.is_symlink() and not any(class_dir.iterdir()):
                class_dir.rmdir()
        if not any(split_dir.iterdir()):
            split_dir.rmdir()
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
    """What every job of a run shares, sent with it: the settings and the two folders."""

    config: SpectrogramConfig
    pool_root: str
    out_dir: str


def make_spectrogram_file(source: str | os.PathLike, target: str | os.PathLike,
                          config: SpectrogramConfig) -> None:
    """Read ``source``'s window, compute its spectrogram, write ``target`` atomically."""
    samples = read_window(source, sample_rate=config.sample_rate, n_samples=config.n_samples,
                          crop=config.crop, hop_length=config.hop_length)
    save_npy(target, log_mel_spectrogram(samples, config))


def save_npy(target: str | os.PathLike, array: np.ndarray) -> None:
    """``np.save`` to a temporary beside ``target``, then rename.

    .. note:: Encoded in memory and written by Python, so that a full disk is an
       ``OSError`` with its errno (numpy's own file writes lose it), which stops the run.
    """
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    write_bytes(target, buffer.getvalue())


def _run_job(ctx: JobContext, job: Job) -> None:
    source = os.path.join(ctx.pool_root, *job.source.split("/"))
    target = os.path.join(ctx.out_dir, *job.target.split("/"))
    make_spectrogram_file(source, target, ctx.config)


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
) -> SpectrogramReport:
    """Write one spectrogram per index row of ``splits``; return what was done.

    Usage errors (bad settings, unreadable index, two rows with one output, an output
    made with other settings) are raised before anything is written. Files that cannot
    be used are listed in ``failures.json``; every other file is written. ``executor``
    runs the jobs; None means a pool of ``num_workers`` processes (fewer for fewer jobs).
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
    check_output_folder(out_dir, settings, overwrite=overwrite)  # refuse before creating anything
    with exclusive_run(out_dir, folder=True):  # a second run into the same folder is refused
        # again under the lock: a run that just finished may have written other settings
        write_config = check_output_folder(out_dir, settings, overwrite=overwrite)
        if overwrite:
            removed = remove_previous_output(out_dir)
            log.info("--overwrite: removed %d spectrogram(s) of the previous run", removed)
        elif stale := remove_temporaries(out_dir):
            log.info("removed %d partial file(s) left by an interrupted run", stale)
        if write_config:
            write_json(out_dir / CONFIG_FILENAME, settings)

        report = SpectrogramReport(out_dir, {s: SplitCounts() for s in splits})
        todo = []
        for job in jobs:
            if (out_dir / job.target).exists():
                report.counts[job.split].skipped += 1
            else:
                todo.append(job)
        log.info("%d spectrogram(s) to make, %d already done", len(todo), len(jobs) - len(todo))
        try:
            failures = list(refused) + _compute(todo, config, pool_root, out_dir, report,
                                                num_workers=num_workers, progress=progress,
                                                timeout=item_timeout, executor=executor)
        finally:  # a worker killed while writing (it died; the run stopped) leaves its temporary
            remove_temporaries(out_dir)
        for failure in failures:
            report.counts.setdefault(failure.split, SplitCounts()).failed += 1
        report.failures = sorted(failures)
        _write_failures(report)
        report.bytes_on_disk = _disk_usage(out_dir / job.target for job in jobs)
        report.unindexed_files = _count_unindexed(out_dir, splits, {job.target for job in jobs})
        return report


def _check_folders(pool_root: Path, out_dir: Path) -> None:
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


def _compute(todo: list[Job], config: SpectrogramConfig, pool_root: Path, out_dir: Path,
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
    context = JobContext(config, str(pool_root), str(out_dir))
    for outcome in executor.map(partial(_run_job, context), todo, desc="spectrograms",
                                setup=setup, chunksize=chunk, timeout=timeout, progress=progress):
        job = outcome.item
        if outcome.ok:
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


def _disk_usage(paths: Iterable[Path]) -> int:
    total = 0
    for path in paths:
        try:
            total += path.stat().st_blocks * 512
        except FileNotFoundError:
            pass
    return total


def _count_unindexed(out_dir: Path, splits: Sequence[str], targets: set[str]) -> int:
    """.npy files in the selected splits that the index does not name (from an older index)."""
    return sum(1 for path in _our_npy_files(out_dir, splits)
               if path.relative_to(out_dir).as_posix() not in targets)
