"""The process pool executor (the default): per-file work in forked workers, a bar, no hangs.

Work is sent to workers in chunks; each worker keeps the memory it frees for its next
item, ignores Ctrl-C (the parent handles it), runs the step's ``setup`` once (thread
pinning, warm-ups) and bounds each item with a timeout.
A worker that dies (killed, out of memory) breaks the pool: the items it may have held
are retried one at a time in a fresh pool, so the one that kills its worker is reported
as failed and the others are done. An item stuck in native code, where the timeout's
Python handler never runs, is ended the same way by a watchdog thread. A full or
read-only output disk (``RunStopped``) is no item's fault: it stops the run.
Given each item's estimated memory and a budget, items are started only while their
estimates fit in it together (the first waiting item that fits goes next). Workers are
never more than the items, nor more than ``MAX_WORKERS_PER_CORE`` per core.
"""

from __future__ import annotations

import ctypes
import faulthandler
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from .base import DEFAULT_NUM_WORKERS, ContextExecutor, Outcome, item_alarm, progress_bar, run_item

T = TypeVar("T")
R = TypeVar("R")

#: Start method, chosen explicitly (Python 3.14 changes the Linux default): fork lets
#: workers inherit what the parent warmed up (imports, numba-compiled functions).
START_METHOD = "fork"
WORKER_DIED = ("its worker process died (killed by a signal, out of memory, or stuck past the "
               "time limit)")
#: A worker stuck past its item's timeout by this fraction of it is ended by the watchdog.
WATCHDOG_GRACE = 0.1
#: More workers than this per core only add forks and memory (1,000 took 178 s, not 14).
MAX_WORKERS_PER_CORE = 4
#: Freed memory a worker keeps for its next item rather than return to the kernel, and
#: the size below which arrays come from that reusable heap (glibc allows 32 MB at most).
HEAP_KEEP_BYTES = 128 << 20
HEAP_ALLOC_MAX = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameters


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when its parent dies (a SIGKILL leaves no orphans)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def _reuse_freed_memory() -> bool:
    """Let a worker reuse one item's freed arrays for the next; False where not glibc.

    By default glibc gives a freed heap top, and each large block, back to the kernel,
    and the next item's arrays fault the same pages in again, zero-filled: step 3's
    workers spent a fifth of their time in the kernel doing so, and more with two of
    them. Items of like size reuse the same memory, so the peak does not grow.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, HEAP_KEEP_BYTES)) and bool(
        mallopt(_M_MMAP_THRESHOLD, HEAP_ALLOC_MAX))


_watchdog_out: Any = None  # where the watchdog writes its traceback dump: nowhere


def _worker_setup(setup: Callable[[], None] | None) -> None:
    global _watchdog_out
    _die_with_parent()
    _reuse_freed_memory()
    _watchdog_out = open(os.devnull, "w")  # open for the worker's life
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # the parent stops the workers
        signal.signal(sig, signal.SIG_IGN)
    if setup is not None:
        setup()


def _run_one(func: Callable[[T], R], item: T, timeout: float | None) -> tuple[R | None, str | None]:
    if timeout:
        # The alarm's handler runs only when the work returns to Python; a decoder
        # looping in C is ended, with its worker, by faulthandler's watchdog thread.
        faulthandler.dump_traceback_later(timeout * (1 + WATCHDOG_GRACE), exit=True,
                                          file=_watchdog_out or sys.stderr)
    try:
        with item_alarm(timeout):
            outcome = run_item(func, item)
        return outcome.result, outcome.error  # the item itself stays in the parent
    finally:
        if timeout:
            faulthandler.cancel_dump_traceback_later()


def _run_chunk(func: Callable[[T], R], chunk: Sequence[T], timeout: float | None) -> list:
    return [_run_one(func, item, timeout) for item in chunk]


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once: queued work cancelled, workers killed (Ctrl-C, a broken pool)."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.kill()
    for proc in processes:
        proc.join(timeout=5)


class ProcessPool(ContextExecutor):
    """An executor of ``num_workers`` forked processes (default: all cores).

    ``max_memory`` (bytes) bounds the estimated memory of the items running at once,
    when ``map`` is given their estimates. A fresh pool is started per ``map`` (and per
    retry after a death), so ``close`` has nothing to release.
    """

    def __init__(self, num_workers: int | None = None, *, max_memory: int | None = None):
        cap = MAX_WORKERS_PER_CORE * DEFAULT_NUM_WORKERS
        self.num_workers = max(1, min(num_workers or DEFAULT_NUM_WORKERS, cap))
        self.max_memory = max_memory

    def map(self, func: Callable[[T], R], items: Sequence[T], *, desc: str,
            setup: Callable[[], None] | None = None, chunksize: int = 1,
            timeout: float | None = None, weight: Callable[[T], int] | None = None,
            progress: bool = True, memory: Callable[[T], int] | None = None,
            ) -> Iterator[Outcome[T, R]]:
        """Yield one ``Outcome`` per item, in completion order.

        ``func`` and ``setup`` must pickle (module-level functions, partials, dataclasses);
        ``timeout`` bounds one item, in seconds; ``weight(item)`` counts its files for the bar;
        ``memory(item)`` estimates its peak bytes, for the ``max_memory`` budget.
        """
        items = list(items)
        bar = progress_bar(items, desc=desc, weight=weight, progress=progress)
        workers = max(1, min(self.num_workers, len(items)))
        budget = _Budget(memory, self.max_memory)
        try:
            pending = list(_chunks(items, max(1, chunksize)))
            while pending:
                suspects, pending = yield from _drain(
                    func, pending, workers, setup, timeout, bar, weight, budget,
                    max_in_flight=2 * workers,  # queued items count against the budget too
                )
                for item in suspects:  # alone in a pool, a worker that dies names its item
                    lost, _ = yield from _drain(func, [[item]], 1, setup, timeout, bar, weight,
                                                budget, max_in_flight=1)
                    for dead in lost:
                        bar.update(weight(dead) if weight else 1)
                        yield Outcome(dead, error=WORKER_DIED)
        finally:
            bar.close()


class _Budget:
    """The memory of the chunks in flight against ``max_memory``; inactive without both."""

    def __init__(self, memory: Callable[[Any], int] | None, max_memory: int | None):
        self.memory, self.max_memory = memory, max_memory
        self.active = memory is not None and max_memory is not None

    def cost(self, chunk: Sequence[Any]) -> int:
        return sum(self.memory(item) for item in chunk) if self.active else 0

    def pick(self, queue: list[list], in_use: int, running: int) -> list | None:
        """The first waiting chunk that fits beside what runs; any chunk when none runs."""
        for i, chunk in enumerate(queue):
            if not self.active or running == 0 or in_use + self.cost(chunk) <= self.max_memory:
                return queue.pop(i)
        return None


def _drain(func, chunks, num_workers, setup, timeout, bar, weight, budget, *, max_in_flight):
    """Run ``chunks`` in one pool, yielding outcomes.

    Returns ``(suspects, unsent)``: when a worker died, the items that were in flight
    (any of them may be the cause) and the chunks not yet sent; else two empty lists.
    """
    ctx = multiprocessing.get_context(START_METHOD)
    pool = ProcessPoolExecutor(max_workers=max(1, num_workers), mp_context=ctx,
                               initializer=_worker_setup, initargs=(setup,))
    queue = list(chunks)
    in_flight: dict[Future, list] = {}
    in_use = 0

    def submit_more() -> None:
        nonlocal in_use
        while queue and len(in_flight) < max_in_flight:
            chunk = budget.pick(queue, in_use, len(in_flight))
            if chunk is None:
                return
            in_use += budget.cost(chunk)
            in_flight[pool.submit(_run_chunk, func, chunk, timeout)] = chunk

    try:
        submit_more()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                return (yield from _after_break(pool, in_flight, queue, bar, weight))
            for fut in done:
                chunk = in_flight.pop(fut)
                in_use -= budget.cost(chunk)
                yield from _emit(chunk, fut.result(), bar, weight)
            submit_more()
    except BaseException:
        _kill_pool(pool)
        raise
    pool.shutdown(wait=True)
    return [], []


def _after_break(pool, in_flight, queue, bar, weight):
    """Salvage what finished before a worker died; return the suspects and the unsent."""
    suspects: list = []
    for fut, chunk in in_flight.items():
        if fut.done() and fut.exception() is None:
            yield from _emit(chunk, fut.result(), bar, weight)
        else:
            suspects.extend(chunk)
    unsent = list(queue)
    _kill_pool(pool)
    return suspects, unsent


def _emit(chunk, results, bar, weight):
    for item, (result, error) in zip(chunk, results, strict=True):
        bar.update(weight(item) if weight else 1)
        yield Outcome(item, result, error)
