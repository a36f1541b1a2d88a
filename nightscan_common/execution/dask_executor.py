"""The Dask executor: a step's items in batches on a Dask cluster, with the local pool's outcomes.

Dask is imported here only, when an executor is made: without ``--scheduler`` a run
never imports it. Items go out in batches (see ``batch_size``) and at most a few
batches per worker thread are in the scheduler at a time, so its memory stays flat
whatever the plan's size. Every item goes through ``run_item`` as in the local pool,
so failure reasons are the same word for word.

.. note:: Faults. A worker that dies (killed, out of memory) fails the batches it held
   (``KilledWorker``, with the scheduler's ``allowed-failures`` set to 0, as
   ``connect("local")`` does; a scheduler left at Dask's default first retries a task
   on up to 3 more workers). Their items are then run again one at a time, alone on
   the cluster, and the one whose worker dies again is listed with the local pool's
   reason. An item past its timeout is listed as timed out; a worker left busy by it is
   restarted. A lost scheduler raises ``SchedulerLost`` (the run stopped), and Ctrl-C
   cancels every future before ``KeyboardInterrupt`` goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import re
import signal
import socket
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import ClusterStopped, ClusterUnusable, SchedulerLost
from .base import LOCAL, ClusterUse, ContextExecutor, Outcome, RunStopped, progress_bar
from .process_pool import WORKER_DIED

if TYPE_CHECKING:
    from .dask_gate import WorkerGate

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("nightscan.execution")

#: Seconds to wait for a scheduler to answer, then for a first worker to join it.
CONNECT_TIMEOUT = 5.0
WORKER_WAIT = 30.0
#: Seconds a nanny may take to restart a worker stuck in native code; on a loaded machine
#: the default (a few seconds) can pass before the old process is gone.
RESTART_TIMEOUT = 60.0
#: Batches: about this many per worker thread, for balance at the end of a run, and at
#: most ``MAX_BATCH`` items each, so that a dead worker's batches are few items to retry
#: (bench/bench_dask.py: Dask costs about 5 ms a task, 0.15 ms a file at 32 a batch).
TASKS_PER_THREAD = 8
MAX_BATCH = 32
#: Batches in the scheduler per worker thread: one running, the next already there.
IN_FLIGHT_PER_THREAD = 2
#: How often the number of worker threads is read again (workers come and go).
REFRESH_SECONDS = 5.0


def batch_size(n_items: int, threads: int, *, minimum: int = 1) -> int:
    """Items per task: ``TASKS_PER_THREAD`` tasks per worker thread, 1 to ``MAX_BATCH`` items."""
    size = math.ceil(n_items / max(1, threads * TASKS_PER_THREAD))
    return max(minimum, min(MAX_BATCH, max(1, size)))


class DaskExecutor(ContextExecutor):
    """Runs a step's items on a Dask cluster; made by ``connect``, closed after the run.

    ``num_workers`` is the number of worker threads (task slots) when connected;
    ``workers_used`` the names of the workers that ran at least one batch (a name
    outlives a restart: ``LocalCluster`` and ``dask worker --name`` give them);
    ``dashboard`` the scheduler's dashboard address, or None.
    """

    def __init__(self, client: Any, *, cluster: Any = None, batch: int | None = None):
        self._client, self._cluster, self._batch = client, cluster, batch
        self.address: str = client.scheduler.address
        self.num_workers = self._threads()
        self.workers_used: set[str] = set()
        self._set_up: set[str] = set()
        self._gate: WorkerGate | None = None  # set by ``probe``: sent with every batch
        self._interrupted = False
        try:
            self.dashboard: str | None = client.dashboard_link
        except (KeyError, AttributeError):
            self.dashboard = None

    @classmethod
    def connect(cls, address: str, *, num_workers: int, connect_timeout: float = CONNECT_TIMEOUT,
                batch: int | None = None) -> DaskExecutor:
        """Connect to the scheduler at ``address``, or start a local cluster for ``"local"``.

        ``num_workers`` counts the local cluster's processes (one thread each); a remote
        cluster has the workers it has. ``batch`` fixes the items per task (for the bench).
        Raises ``ClusterUnusable`` within about ``connect_timeout`` seconds when no
        scheduler answers, and when a scheduler has no worker after ``WORKER_WAIT``.
        """
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ClusterUnusable(f"--scheduler needs Dask ({exc}); pip install "
                                  "'dask[distributed]'") from None
        if address == LOCAL:
            with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
                    warnings.catch_warnings():
                # The dashboard's port taken (another cluster): Dask takes another, says which.
                warnings.filterwarnings("ignore", r"Port \d+ is already in use", UserWarning)
                cluster = LocalCluster(n_workers=num_workers, threads_per_worker=1,
                                       processes=True, silence_logs=logging.CRITICAL)
            try:
                return cls(Client(cluster, timeout=connect_timeout, set_as_default=False),
                           cluster=cluster, batch=batch)
            except BaseException:
                cluster.close()
                raise
        try:
            client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterUnusable(f"cannot reach the Dask scheduler at {address} "
                                  f"({_one_line(exc)}); is `dask scheduler` running there, and "
                                  "its port open to this machine?") from None
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT)
        except TimeoutError:
            client.close()
            raise ClusterUnusable(f"the Dask scheduler at {address} has no workers (waited "
                                  f"{WORKER_WAIT:g} s); start some with `dask worker {address}`"
                                  ) from None
        return cls(client, batch=batch)

    def probe(self, *, readable: Sequence[str | Path] = (),
              writable: Sequence[str | Path] = ()) -> None:
        """Check, on the scheduler and every worker, the library versions; on every worker,
        the folders the work uses.

        ``writable`` folders must exist here: a marker file written into each must be
        seen by every worker (the same shared storage), then it is removed. A run marker
        stays there until ``close``: a worker that joins later is probed against it before
        its first batch (``dask_gate``).
        Raises ``ClusterUnusable`` with one line naming a worker and what it lacks.
        """
        from .dask_gate import close_gate, open_gate
        from .dask_probe import probe_cluster

        problems = probe_cluster(self._client, readable=readable, writable=writable)
        if not problems:  # workers that join later are probed before their first batch
            if self._gate is not None:
                close_gate(self._gate)
            self._gate = open_gate(readable=readable, writable=writable)
        if problems:
            who, lacks = next(iter(problems.items()))
            others = f" (and {len(problems) - 1} other(s))" if len(problems) > 1 else ""
            raise ClusterUnusable(f"{who} {'; '.join(lacks)}{others}")

    def map(self, func: Callable[[T], R], items: Sequence[T], *, desc: str,
            setup: Callable[[], None] | None = None, chunksize: int = 1,
            timeout: float | None = None, weight: Callable[[T], int] | None = None,
            progress: bool = True, memory: Callable[[T], int] | None = None,
            ) -> Iterator[Outcome[T, R]]:
        """Yield one ``Outcome`` per item, in completion order, as the local pool does.

        ``func``, ``items`` and ``setup`` must pickle by reference or value; ``setup``
        runs once per worker (and per distinct set-up), before its first batch.
        ``chunksize`` is the least number of items per task.

        .. note:: ``memory`` is not budgeted here: each worker runs one batch at a time
           and has its own limit (``dask worker --memory-limit``); the step has already
           listed any task too large for ``--max-memory`` on its own.
        """
        items = list(items)
        bar = progress_bar(items, desc=desc, weight=weight, progress=progress)
        try:
            with self._scheduler_calls():
                yield from self._map(func, items, setup, chunksize, timeout, bar, weight, desc)
        finally:
            bar.close()

    def _map(self, func: Callable, items: list, setup: Callable[[], None] | None, chunksize: int,
             timeout: float | None, bar: Any, weight: Callable | None, desc: str) -> Iterator[Outcome]:
        """``map``'s body: the batches, then the suspects' retries one at a time."""
        self._register(setup)
        size = self._batch or batch_size(len(items), self.num_workers, minimum=chunksize)
        batches = [items[i : i + size] for i in range(0, len(items), size)]
        run = (func, timeout, bar, weight, desc)
        suspects = yield from self._drain(run, batches, alone=False)
        for item in suspects:  # alone on the cluster, a worker that dies names its item
            for dead in (yield from self._drain(run, [[item]], alone=True)):
                bar.update(weight(dead) if weight else 1)
                yield Outcome(dead, error=WORKER_DIED)

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        self._interrupted |= exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        self.close()

    def describe(self) -> ClusterUse:
        """What the step's report says of this cluster: the workers that took part."""
        return ClusterUse(self.address, len(self.workers_used), self.dashboard)

    def close(self) -> None:
        """Disconnect; a local cluster is stopped with its worker processes.

        After Ctrl-C, a local cluster's workers are killed first: Dask would wait for the
        batches they are running to end.
        """
        if self._cluster is not None and self._interrupted:
            _kill_workers(self._cluster)
        if self._gate is not None:
            from .dask_gate import close_gate

            close_gate(self._gate)
            self._gate = None
        try:
            self._client.close(timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError):
            pass  # the scheduler is gone already
        finally:
            if self._cluster is not None:
                self._cluster.close(timeout=CONNECT_TIMEOUT)

    # --- inside ---------------------------------------------------------------------

    @contextlib.contextmanager
    def _scheduler_calls(self) -> Iterator[None]:
        """A call to the scheduler that fails because it is gone (a closed connection, a
        closed client) is ``SchedulerLost``, whichever call it was; a worker's full disk
        (``RunStopped``) stays what it is."""
        from distributed.client import ClosedClientError

        try:
            yield
        except SchedulerLost:
            raise
        except (OSError, RuntimeError, TimeoutError, asyncio.CancelledError, ClosedClientError) as exc:
            if isinstance(exc, RunStopped) or not self._lost():
                raise
            raise self._lost_error() from None

    def _lost(self) -> bool:
        """The scheduler no longer answers: the client says so, or its port is closed."""
        if self._client.status != "running":
            return True
        try:
            socket.create_connection(_host_port(self.address), timeout=CONNECT_TIMEOUT).close()
        except (OSError, ValueError):
            return True
        return False

    def _lost_error(self) -> SchedulerLost:
        return SchedulerLost(f"lost the Dask scheduler at {self.address}; finished files are kept, "
                             "rerun the same command to resume")

    def _threads(self) -> int:
        return max(1, sum(self._client.nthreads().values()))

    def _register(self, setup: Callable[[], None] | None) -> None:
        """The worker plugin for ``setup``, once per distinct set-up (Dask keeps it for
        workers that join or restart later)."""
        from dask.base import tokenize

        from .dask_worker import WorkerSetup

        name = f"nightscan-setup-{tokenize(setup)}"
        if name in self._set_up:
            return
        try:
            self._client.register_plugin(WorkerSetup(setup), name=name)
        except OSError:
            pass  # a worker died meanwhile: the scheduler keeps the plugin for its successor
        except Exception as exc:  # raised by a worker's set-up, or the scheduler is gone
            if self._lost():
                raise self._lost_error() from None
            raise ClusterUnusable(f"a Dask worker's set-up failed: {_one_line(exc)}") from None
        self._set_up.add(name)

    def _drain(self, run: tuple, batches: list[list], *, alone: bool):
        """Run ``batches``, yielding outcomes; return the items of batches whose worker died.

        ``alone``: one batch at a time on the whole cluster (the retries).
        """
        from distributed import as_completed

        from .dask_worker import run_batch

        queue = iter(batches)
        in_flight: dict[Any, list] = {}
        done = as_completed(loop=self._client.loop)
        window, refreshed = self._window(alone), time.monotonic()
        suspects: list = []
        func, timeout, bar, weight, desc = run
        prefix = f"nightscan-{desc_key(desc)}"

        def submit_next() -> bool:
            batch = next(queue, None)
            if batch is None:
                return False
            fut = self._client.submit(run_batch, func, batch, timeout, self._gate, pure=False,
                                      key=f"{prefix}-{uuid.uuid4().hex}")
            in_flight[fut] = batch
            done.add(fut)
            return True

        try:
            while len(in_flight) < window and submit_next():
                pass
            for fut in done:
                yield from self._settle(fut, in_flight.pop(fut), bar, weight, suspects)
                if not alone and time.monotonic() - refreshed > REFRESH_SECONDS:
                    window, refreshed = self._window(alone), time.monotonic()
                while len(in_flight) < window and submit_next():
                    pass
        except SchedulerLost:
            raise  # nothing left to cancel
        except BaseException as exc:
            self._interrupted = isinstance(exc, KeyboardInterrupt)
            self._cancel(list(in_flight))
            raise
        return suspects

    def _settle(self, fut: Any, batch: list, bar: Any, weight: Any, suspects: list):
        """Yield a finished batch's outcomes, or note its items as suspects (its worker died)."""
        from distributed import KilledWorker

        try:
            if fut.status == "cancelled":
                raise self._lost_error()
            if fut.status == "error":
                exc = fut.exception()
                if isinstance(exc, RunStopped):
                    raise exc
                if not isinstance(exc, KilledWorker):  # the task itself cannot run there
                    raise ClusterStopped(f"a task failed on the Dask cluster: "
                                         f"{type(exc).__name__}: {_one_line(exc)}")
                suspects.extend(batch)
                return
            result = fut.result()
        finally:
            fut.release()  # at once: a worker restarted below would make Dask run it again
        if result.refused:
            raise ClusterStopped(f"Dask worker {result.address} joined after the start and "
                                 f"{'; '.join(result.refused)}; it was given no work. Stop it, then "
                                 "rerun the same command to resume (finished files are kept)")
        self.workers_used.add(result.worker)
        for item, (value, error) in zip(batch, result.results, strict=True):
            bar.update(weight(item) if weight else 1)
            yield Outcome(item, value, error)
        if result.stuck:
            self._restart(result.address)

    def _cancel(self, futures: list) -> None:
        from distributed.client import ClosedClientError

        try:
            self._client.cancel(futures, force=True)
        except (OSError, TimeoutError, ClosedClientError):
            pass  # the scheduler is gone (the client gave up reconnecting): it runs nothing of ours

    def _window(self, alone: bool) -> int:
        if alone:
            return 1
        self.num_workers = self._threads()
        return IN_FLIGHT_PER_THREAD * self.num_workers

    def _restart(self, worker: str) -> None:
        """End a thread stuck in native code: restart its worker, or retire it (no nanny)."""
        try:
            status = self._client.restart_workers([worker], timeout=RESTART_TIMEOUT, raise_for_error=False)
            if status.get(worker) != "OK":
                self._client.retire_workers([worker], close_workers=True)
        except (OSError, TimeoutError):
            log.warning("could not restart Dask worker %s, busy past the time limit", worker)


def _kill_workers(cluster: Any) -> None:
    """SIGKILL the worker processes of a local cluster (their nannies live in this process)."""
    for nanny in list(cluster.workers.values()):
        pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def desc_key(desc: str | None) -> str:
    """A task-name part from a bar's description: letters and digits, dashes between."""
    return "-".join(re.findall(r"[^\W_]+", desc or "")) or "items"


def _host_port(address: str) -> tuple[str, int]:
    """``tcp://10.0.0.5:8786`` -> ("10.0.0.5", 8786); ValueError when it names no port."""
    where = address.split("://", 1)[-1]
    host, _, port = where.rpartition(":")
    return host.strip("[]"), int(port)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
