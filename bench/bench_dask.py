#!/usr/bin/env python3
"""Benchmark of the Dask executor: per-file overhead against the local pool, and the scheduler's memory.

Cheap tasks (a file name's length) stand for files, so that what is measured is the
executor alone. Part 1 maps them with the local process pool and with Dask, both with
2 workers, at several batch sizes, and reports the wall time per file. Part 2 runs a
plan of 100,000 such files through a fresh `dask scheduler` subprocess per batch size
and reports the scheduler's peak resident memory; also, for reference, with every task
submitted at once rather than a few per worker at a time.

    python bench/bench_dask.py                         # 4,000 files, then a 100,000-file plan
    python bench/bench_dask.py --files 2000 --plan 20000 --batches 1,8,32
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from dask_cluster import start_scheduler, start_workers, stop, wait_for_workers  # noqa: E402
from measure import TreeMonitor  # noqa: E402

from nightscan_common.cli import format_table  # noqa: E402
from nightscan_common.execution.dask_executor import DaskExecutor, batch_size  # noqa: E402
from nightscan_common.execution.process_pool import ProcessPool  # noqa: E402

WORKERS = 2


def cheap(root: str, item: tuple[str, int]) -> int:
    """A task that costs nothing: what it measures is the executor."""
    return len(root) + len(item[0])


def plan(n: int) -> list[tuple[str, int]]:
    """``n`` items shaped like step 3's jobs: a relative path and a row number."""
    return [(f"train/owl/site{i % 20:02d}_rec_{i:07d}_aug001_time_stretch.wav", i) for i in range(n)]


def per_file_ms(executor, items, *, chunksize: int) -> float:
    task = functools.partial(cheap, "/data/pool")
    start = time.perf_counter()
    done = sum(1 for o in executor.map(task, items, desc="bench", chunksize=chunksize,
                                       progress=False) if o.ok)
    assert done == len(items)
    return (time.perf_counter() - start) / len(items) * 1000


def overhead(address: str, n: int, batches: list[int]) -> list[list[object]]:
    items = plan(n)
    auto = batch_size(n, WORKERS)
    rows = []
    for size in sorted({auto, *batches}):
        pool_ms = per_file_ms(ProcessPool(WORKERS), items, chunksize=size)
        with DaskExecutor.connect(address, num_workers=WORKERS, batch=size) as ex:
            dask_ms = per_file_ms(ex, items, chunksize=size)
        with DaskExecutor.connect("local", num_workers=WORKERS, batch=size) as ex:
            local_ms = per_file_ms(ex, items, chunksize=size)
        rows.append([f"{size}{' (auto)' if size == auto else ''}", f"{pool_ms:.3f}",
                     f"{dask_ms:.3f}", f"{local_ms:.3f}"])
    return rows


def scheduler_memory(n: int, size: int, *, at_once: bool, folder: Path) -> tuple[float, float, float]:
    """(MB at rest, peak MB, seconds) of a fresh scheduler running an ``n``-file plan."""
    scheduler, address = start_scheduler(folder, extra_path=[HERE])
    workers = start_workers(address, folder, n=WORKERS, extra_path=[HERE])
    try:
        wait_for_workers(address, WORKERS)
        monitor = TreeMonitor(scheduler.pid)
        with DaskExecutor.connect(address, num_workers=WORKERS, batch=size) as ex:
            rest = _rss_mb(scheduler.pid)
            monitor.start()
            start = time.perf_counter()
            if at_once:
                _all_at_once(ex, plan(n), size)
            else:
                per_file_ms(ex, plan(n), chunksize=size)
            wall = time.perf_counter() - start
            monitor.stop()
        return rest, monitor.peaks.get(scheduler.pid, 0) / 1024, wall
    finally:
        stop(workers)
        stop(scheduler)


def _all_at_once(ex: DaskExecutor, items: list, size: int) -> None:
    """Every batch submitted before the first result: what the executor's window avoids."""
    from distributed import as_completed

    from nightscan_common.execution.dask_worker import run_batch

    task = functools.partial(cheap, "/data/pool")
    client = ex._client
    futures = [client.submit(run_batch, task, items[i : i + size], None, pure=False)
               for i in range(0, len(items), size)]
    for fut in as_completed(futures, loop=client.loop):
        fut.result()


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=4000, help="files in part 1")
    parser.add_argument("--plan", type=int, default=100_000, help="files in part 2's plan")
    parser.add_argument("--batches", default="1,8,32,128", help="batch sizes to compare")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    with tempfile.TemporaryDirectory(prefix="nightscan-bench-dask-") as tmp:
        folder = Path(tmp)
        scheduler, address = start_scheduler(folder, extra_path=[HERE])
        workers = start_workers(address, folder, n=WORKERS, extra_path=[HERE])
        try:
            wait_for_workers(address, WORKERS)
            rows = overhead(address, args.files, batches)
        finally:
            stop(workers)
            stop(scheduler)
        print(f"part 1: {args.files:,} cheap files, {WORKERS} workers, ms per file")
        print(format_table(["batch", "process pool", "dask scheduler+workers", "dask local"], rows))
        mem_rows = []
        for size in [b for b in batches if b > 1]:
            for at_once in (False, True):
                sub = folder / f"mem-{size}-{at_once}"
                sub.mkdir()
                rest, peak, wall = scheduler_memory(args.plan, size, at_once=at_once, folder=sub)
                mem_rows.append([size, "all at once" if at_once else "executor (windowed)",
                                 args.plan // size, f"{rest:.0f}", f"{peak:.0f}", f"{wall:.1f}"])
        print(f"\npart 2: a {args.plan:,}-file plan of cheap files, {WORKERS} workers")
        print(format_table(["batch", "submission", "tasks", "scheduler MB at rest", "peak MB",
                            "seconds"], mem_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
