"""What runs inside a Dask worker: the once-per-worker set-up and batches of items bounded in time.

Imported by ``dask_executor`` only (and, through pickled references, by the workers), so
a run without ``--scheduler`` never imports Dask.
Dask runs a task in one of its worker's threads, where no signal arrives, so a batch
bounds each item by running it in a helper thread and waiting at most ``timeout``: the
item is listed as timed out, an exception is raised into the helper thread (it takes
effect when the work returns to Python) and, if the thread is still busy a grace period
later (stuck in native code), the batch says so and the parent restarts that worker.
"""

from __future__ import annotations

import asyncio
import ctypes
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from .base import pin_native_threads, reuse_freed_memory, run_item, timed_out
from .dask_gate import WorkerGate
from .process_pool import WATCHDOG_GRACE

T = TypeVar("T")
R = TypeVar("R")


class WorkerSetup(WorkerPlugin):
    """Once per worker and per distinct ``setup``: BLAS/OpenMP on one thread, freed memory
    kept for the next item (as in the local pool), then the step's own set-up.

    ``idempotent``: registering the same set-up again (another run on the same cluster)
    leaves the workers that already have it alone; workers that join later get it first.
    """

    idempotent = True

    def __init__(self, setup: Callable[[], None] | None):
        self.step_setup = setup

    async def setup(self, worker: Any) -> None:
        # In a thread: a long warm-up must not stall the worker's event loop (heartbeats).
        await asyncio.to_thread(self._set_up)

    def _set_up(self) -> None:
        pin_native_threads()
        reuse_freed_memory()
        if self.step_setup is not None:
            self.step_setup()


@dataclass(frozen=True, kw_only=True)
class BatchResult:
    """What a batch task sends back: small results only, never the items."""

    worker: str                                   # the name of the worker that ran it
    address: str                                  # where to send a restart
    results: list[tuple[Any, str | None]] = field(default_factory=list)  # (result, error) per item
    stuck: bool = False                           # a helper thread is still busy: restart me
    refused: list[str] = field(default_factory=list)  # what this worker lacks: it ran nothing


class _ItemTimeout(BaseException):
    """Raised into a helper thread whose item ran out of time (past ``except Exception``)."""


class _HelperThread:
    """One daemon thread that runs items handed to it, so that the caller can stop waiting."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="nightscan-item", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                func, item = job
                try:
                    self._done.put(("ok", run_item(func, item)))
                except BaseException as exc:  # RunStopped, or the timeout raised into us
                    self._done.put(("raised", exc))
        except _ItemTimeout:  # arrived after the item had finished: this thread is retired
            pass

    def start(self, func: Callable[[T], R], item: T) -> None:
        self._jobs.put((func, item))

    def wait(self, timeout: float) -> tuple[str, Any]:
        return self._done.get(timeout=timeout)  # queue.Empty when it is not done in time

    def interrupt(self) -> None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread.ident),
                                                   ctypes.py_object(_ItemTimeout))

    def retire(self) -> None:
        self._jobs.put(None)


def run_batch(func: Callable[[T], R], items: Sequence[T], timeout: float | None,
              gate: WorkerGate | None = None) -> BatchResult:
    """The Dask task: run ``items`` in order through ``run_item``, each within ``timeout``;
    none when this worker fails the run's ``gate`` (it joined after the probe and lacks
    something the run needs).

    Raises ``RunStopped`` (a full output disk) as ``run_item`` does, which stops the run.
    """
    worker = get_worker()
    if gate is not None and (lacks := gate.problems_here()):
        return BatchResult(worker=str(worker.name), address=worker.address, refused=lacks)
    results: list[tuple[Any, str | None]] = []
    stuck = False
    helper: _HelperThread | None = None
    for item in items:
        if not timeout:
            outcome = run_item(func, item)
            results.append((outcome.result, outcome.error))
            continue
        helper = helper or _HelperThread()
        helper.start(func, item)
        try:
            kind, value = helper.wait(timeout)
        except queue.Empty:
            results.append((None, timed_out(timeout)))
            helper.interrupt()
            try:
                helper.wait(timeout * WATCHDOG_GRACE)
            except queue.Empty:
                stuck = True  # busy in native code: only a restart of the worker ends it
            helper.retire()
            helper = None  # the next item gets a fresh thread
            continue
        if kind == "raised":
            helper.retire()
            raise value
        results.append((value.result, value.error))
    if helper is not None:
        helper.retire()
    return BatchResult(worker=str(worker.name), address=worker.address, results=results, stuck=stuck)
