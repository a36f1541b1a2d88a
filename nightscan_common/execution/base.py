"""The executor seam: what a task may raise, how its outcome reads, what an executor offers.

Steps hand an executor a module-level function (or a ``functools.partial`` of one) and
items that carry their own context; the executor yields one ``Outcome`` per item. The
runner knows nothing of audio: task code raises ``TaskFailed`` (or a subclass) with a
one-line reason, and every executor turns exceptions into reasons with ``run_item``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, Self, TypeVar

from tqdm import tqdm

from ..errors import TaskFailed
from ..io.atomic_write import OUTPUT_FULL_ERRNOS

T = TypeVar("T")
R = TypeVar("R")

#: Environment that limits native thread pools, for libraries loaded after set-up.
THREAD_LIMIT_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
#: Freed memory a worker keeps for its next item rather than return to the kernel, and
#: the size below which arrays come from that reusable heap (glibc allows 32 MB at most).
HEAP_KEEP_BYTES = 128 << 20
HEAP_ALLOC_MAX = 32 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt() parameters


#: The share of the memory available at start that the tasks running at once may take.
MEMORY_SHARE = 0.8
_FALLBACK_MEMORY = 4 << 30


def default_max_memory() -> int:
    """Bytes the tasks running at once may take: ``MEMORY_SHARE`` of what Linux says is
    available (``MemAvailable``), else of the physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(int(line.split()[1]) * 1024 * MEMORY_SHARE)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * MEMORY_SHARE)
    except (OSError, ValueError):  # pragma: no cover - not POSIX
        return _FALLBACK_MEMORY


def worker_path(path: str | os.PathLike) -> Path:
    """``path`` as every worker reads it, whatever its working folder: absolute (links kept).

    The steps pass their folders through here once, where they are given: a relative
    path sent to a Dask worker started in another folder names another file.
    """
    return Path(path).absolute()


def check_seen(paths: Iterable[Path], *, out_dir: Path) -> None:
    """Every file a worker says it made is here, where the parent looks for it.

    Raises ``ClusterStopped`` (exit 3) for one that is not: its worker wrote to another
    storage than this machine's output folder, and a run must never report a file as
    made that its parent cannot see.
    """
    for path in paths:
        if not os.path.lexists(path):
            from ..errors import ClusterStopped

            raise ClusterStopped(f"a worker reported {path} written, but it is not in {out_dir} here: "
                                 "that worker writes to other storage than this machine; finished "
                                 "files are kept, make every worker share the output folder and "
                                 "rerun the same command to resume")


def default_num_workers() -> int:
    """All the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: The library's one default worker count, for every step and executor: all cores.
DEFAULT_NUM_WORKERS = default_num_workers()


#: ``--scheduler local``: a cluster of ``--num-workers`` processes on this machine, for the run.
LOCAL = "local"


@dataclass(frozen=True)
class ClusterUse:
    """Which Dask cluster ran a step, for its report: how many workers took part."""

    address: str
    workers: int
    dashboard: str | None


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """One item's result, or the one-line reason it failed."""

    item: T
    result: R | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class RunStopped(OSError):
    """No further item can succeed (a full or read-only output disk): the run stops.

    An ``OSError`` with the original's errno, message and file name, so that a front end
    reports it as it would the disk error itself.
    """


class Executor(Protocol):
    """Maps a task over items, yielding outcomes in completion order (callers sort).

    ``memory(item)`` is an item's estimated peak in bytes: an executor with a
    ``max_memory`` runs at once only items whose estimates fit in it together.
    """

    num_workers: int

    def describe(self) -> ClusterUse | None:
        """What the step's report says of the executor: the cluster that ran it, or None."""
        ...

    def map(self, func: Callable[[T], R], items: Sequence[T], *, desc: str,
            setup: Callable[[], None] | None = None, chunksize: int = 1,
            timeout: float | None = None, weight: Callable[[T], int] | None = None,
            progress: bool = True, memory: Callable[[T], int] | None = None,
            ) -> Iterator[Outcome[T, R]]: ...

    def close(self) -> None: ...


class ContextExecutor:
    """What every executor shares: ``with executor:`` closes it at the end."""

    def close(self) -> None:
        """Release workers; nothing to do by default."""

    def describe(self) -> ClusterUse | None:
        """Nothing for the report: the work ran on this machine."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_item(func: Callable[[T], R], item: T) -> Outcome[T, R]:
    """Run one item; its exception becomes its one-line reason, the same in every executor.

    Raises ``RunStopped`` for an ``OSError`` of the output disk (``OUTPUT_FULL_ERRNOS``).
    """
    try:
        return Outcome(item, func(item))
    except TaskFailed as exc:
        return Outcome(item, error=exc.reason)
    except MemoryError:
        return Outcome(item, error="out of memory")
    except OSError as exc:
        if exc.errno in OUTPUT_FULL_ERRNOS:
            raise RunStopped(exc.errno, exc.strerror, exc.filename) from exc
        return Outcome(item, error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # one bad file must not end a run of hours
        return Outcome(item, error=f"{type(exc).__name__}: {exc}")


def pin_native_threads() -> None:
    """One thread for BLAS/OpenMP in this process: parallel workers would oversubscribe."""
    for name in THREAD_LIMIT_ENV:
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def reuse_freed_memory() -> bool:
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


def timed_out(timeout: float) -> str:
    """The reason given for an item that ran past its time limit, in every executor."""
    return f"timed out after {timeout:g} s"


@contextlib.contextmanager
def item_alarm(timeout: float | None) -> Iterator[None]:
    """Bound one item to ``timeout`` seconds: ``TaskFailed`` when its work returns to Python.

    Only on the main thread (signals reach no other); elsewhere the item runs unbounded.
    """
    if not timeout or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise TaskFailed(timed_out(timeout))

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def progress_bar(items: Sequence[T], *, desc: str, weight: Callable[[T], int] | None,
                 progress: bool) -> tqdm:
    """The bar every executor shows: files done of files planned, on stderr."""
    total = sum(weight(i) for i in items) if weight else len(items)
    return tqdm(total=total, desc=desc, unit="file", disable=not progress, file=sys.stderr,
                dynamic_ncols=True, leave=False)
