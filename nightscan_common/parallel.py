"""The process pool that runs per-file work: one set-up per worker, a tqdm bar, no hangs.

Work is planned in the parent and sent to workers in chunks; each worker pins its
BLAS/OpenMP pools to one thread (a pool of multi-threaded workers oversubscribes the
cores), keeps the memory it frees for its next item, ignores Ctrl-C (the parent
handles it) and bounds each item with a timeout.
A worker that dies (killed, out of memory) breaks the pool: the items it may have held
are retried one at a time in a fresh pool, so the one that kills its worker is reported
as failed and the others are done. An item stuck in native code, where the timeout's
Python handler never runs, is ended the same way by a watchdog thread. A full or
read-only output disk (``OUTPUT_FULL_ERRNOS``) is no item's fault: it stops the run.
"""

from __future__ import annotations

import ctypes
import faulthandler
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tqdm import tqdm

from .atomic_write import OUTPUT_FULL_ERRNOS
from .errors import AudioFileError

T = TypeVar("T")
R = TypeVar("R")

#: Start method, chosen explicitly (Python 3.14 changes the Linux default): fork lets
#: workers inherit what the parent warmed up (imports, numba-compiled functions).
START_METHOD = "fork"
#: Environment that limits native thread pools, for libraries loaded after the fork.
THREAD_LIMIT_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
WORKER_DIED = ("its worker process died (killed by a signal, out of memory, or stuck past the "
               "time limit)")
#: A worker stuck past its item's timeout by this fraction of it is ended by the watchdog.
WATCHDOG_GRACE = 0.1
#: Freed memory a worker keeps for its next item rather than return to the kernel, and
#: the size below which arrays come from that reusable heap (glibc allows 32 MB at most).
HEAP_KEEP_BYTES = 128 << 20
HEAP_ALLOC_MAX = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameters


def default_num_workers() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """One item's result, or the one-line reason it failed."""

    item: T
    result: R | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _ItemTimeout(Exception):
    pass


def _on_alarm(signum: int, frame: Any) -> None:
    raise _ItemTimeout()


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


def _worker_setup(initializer: Callable[..., None] | None, initargs: tuple) -> None:
    global _watchdog_out
    _die_with_parent()
    _reuse_freed_memory()
    _watchdog_out = open(os.devnull, "w")  # open for the worker's life
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGALRM, _on_alarm)
    for name in THREAD_LIMIT_ENV:
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if initializer is not None:
        initializer(*initargs)


def _run_one(func: Callable[[T], R], item: T, timeout: float | None) -> tuple[R | None, str | None]:
    if timeout:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        # The alarm's handler runs only when the work returns to Python; a decoder
        # looping in C is ended, with its worker, by faulthandler's watchdog thread.
        faulthandler.dump_traceback_later(timeout * (1 + WATCHDOG_GRACE), exit=True,
                                          file=_watchdog_out or sys.stderr)
    try:
        return func(item), None
    except AudioFileError as exc:
        return None, exc.reason
    except _ItemTimeout:
        return None, f"timed out after {timeout:g} s"
    except MemoryError:
        return None, "out of memory"
    except OSError as exc:
        if exc.errno in OUTPUT_FULL_ERRNOS:
            raise  # every other item would fail the same way: the run stops
        return None, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # one bad file must not end a run of hours
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        if timeout:
            signal.setitimer(signal.ITIMER_REAL, 0)
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


def run_in_pool(
    func: Callable[[T], R],
    items: Iterable[T],
    *,
    num_workers: int,
    desc: str,
    initializer: Callable[..., None] | None = None,
    initargs: tuple = (),
    chunksize: int = 1,
    timeout: float | None = None,
    progress: bool = True,
    weight: Callable[[T], int] | None = None,
) -> Iterator[Outcome[T, R]]:
    """Run ``func`` on every item in a pool of ``num_workers`` processes.

    Yields one ``Outcome`` per item, in completion order (callers that need an order
    sort by item). ``func`` and ``initializer`` must be module-level functions.
    ``weight(item)`` counts how many files an item stands for, for the bar.
    ``timeout`` bounds one item, in seconds, when its work returns to Python.
    """
    items = list(items)
    total = sum(weight(i) for i in items) if weight else len(items)
    bar = tqdm(total=total, desc=desc, unit="file", disable=not progress, file=sys.stderr,
               dynamic_ncols=True, leave=False)
    try:
        pending = list(_chunks(items, max(1, chunksize)))
        while pending:
            suspects, pending = yield from _drain(
                func, pending, num_workers, initializer, initargs, timeout, bar, weight,
                max_in_flight=2 * num_workers,
            )
            for item in suspects:  # alone in a pool, a worker that dies names its item
                lost, _ = yield from _drain(func, [[item]], 1, initializer, initargs, timeout,
                                            bar, weight, max_in_flight=1)
                for dead in lost:
                    bar.update(weight(dead) if weight else 1)
                    yield Outcome(dead, error=WORKER_DIED)
    finally:
        bar.close()


def _drain(func, chunks, num_workers, initializer, initargs, timeout, bar, weight, *,
           max_in_flight):
    """Run ``chunks`` in one pool, yielding outcomes.

    Returns ``(suspects, unsent)``: when a worker died, the items that were in flight
    (any of them may be the cause) and the chunks not yet sent; else two empty lists.
    """
    ctx = multiprocessing.get_context(START_METHOD)
    pool = ProcessPoolExecutor(max_workers=max(1, num_workers), mp_context=ctx,
                               initializer=_worker_setup, initargs=(initializer, initargs))
    queue = iter(chunks)
    in_flight: dict[Future, list] = {}

    def submit_next() -> None:
        for chunk in queue:
            in_flight[pool.submit(_run_chunk, func, chunk, timeout)] = chunk
            return

    try:
        for _ in range(max_in_flight):
            submit_next()
        while in_flight:
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            if any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                return (yield from _after_break(pool, in_flight, queue, bar, weight))
            for fut in done:
                chunk = in_flight.pop(fut)
                yield from _emit(chunk, fut.result(), bar, weight)
                submit_next()
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
