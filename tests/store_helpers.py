"""Stores driven as step 3 drives them, over synthetic arrays: fast, and any row can fail."""

from __future__ import annotations

import functools
import hashlib
import io
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from nightscan_common.execution.process_pool import ProcessPool
from nightscan_common.execution.serial import SerialExecutor
from nightscan_common.formats.catalog import ArraySpec, SampleCatalog
from nightscan_common.formats.index_db import SampleDetails
from nightscan_common.formats.labels import label_map
from nightscan_common.vocabulary import SPLITS, Job

SPEC = ArraySpec((3, 5, 7), "float16")
CLASSES = ("bat", "owl", "rain")


def make_jobs(counts: dict[str, int], split: str = "train") -> list[Job]:
    """``counts[class]`` jobs per class, in a scrambled order (stores sort them)."""
    jobs = [Job(key=f"{split}/{cls}/{cls} rec.{i:02d}", source=f"{cls}/{cls} rec.{i:02d}.wav", split=split)
            for cls, n in counts.items() for i in range(n)]
    return jobs[::2] + jobs[1::2]


def catalog(jobs: Sequence[Job], classes: Sequence[str] = CLASSES) -> SampleCatalog:
    details = {j.source: SampleDetails(j.source.split("/")[0], f"{j.source.split('/')[0]}/g{i % 3}",
                                       i % 2 == 1) for i, j in enumerate(sorted(jobs))}
    return SampleCatalog(label_map(classes), details)


def array_of(key: str, spec: ArraySpec = SPEC) -> np.ndarray:
    """A distinct array per key, the same on every call."""
    seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(spec.shape).astype(spec.dtype)


def npy_bytes(array: np.ndarray) -> bytes:
    """What the tree layout's file of ``array`` holds."""
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _put(writer, job: Job) -> dict:
    return writer.put(job, array_of(job.key))


def fill(store, jobs: Sequence[Job], *, workers: int = 1, fail: Collection[str] = (),
         stop_after: int | None = None, finalize: bool = True, seen: dict | None = None) -> int:
    """Prepare, write every job not done (but those in ``fail``), record, finalize.

    ``stop_after`` records that many and returns, as a run killed mid-way would.
    ``seen`` gets what step 3 reports, asked when it asks: ``removed`` (in every split)
    and the ``stale`` keys. Returns how many were written.
    """
    store.prepare(jobs, overwrite=False)
    if seen is not None:
        seen.update(removed=store.remove_unlisted(SPLITS), stale=store.stale(jobs))
    done = store.done(jobs)
    todo = sorted(j for j in jobs if j.key not in done and j.source not in fail)
    if stop_after is not None:
        todo = todo[:stop_after]
    task = functools.partial(_put, store.writer())
    executor = ProcessPool(workers) if workers > 1 else SerialExecutor()
    for outcome in executor.map(task, todo, desc="test", progress=False):
        assert outcome.ok, outcome.error
        store.record(outcome.item, outcome.result)
    if finalize and stop_after is None:
        store.finalize()
    return len(todo)


def tree_bytes(jobs: Sequence[Job], *, fail: Collection[str] = ()) -> dict[str, bytes]:
    """Key -> the tree layout's file bytes, for every job that succeeds."""
    return {j.key: npy_bytes(array_of(j.key)) for j in sorted(jobs) if j.source not in fail}


def files(folder: Path) -> dict[str, bytes]:
    """Relative path -> bytes of every file below ``folder``."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}
