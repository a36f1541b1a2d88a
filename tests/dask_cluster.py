"""A real Dask cluster for tests and the bench: `dask scheduler` and `dask worker` processes.

Started as a user starts them by hand, on 127.0.0.1, each in its own session so that
stopping them leaves nothing behind. The scheduler fails a task at the first worker
death (``allowed-failures`` 0), as ``--scheduler local`` does.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
DASK = Path(sys.executable).with_name("dask")
STARTUP_TIMEOUT = 60.0


def cluster_env(extra_path: Sequence[Path] = (),
                extra_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of the cluster's processes: this toolkit and its tests importable."""
    paths = [str(p) for p in (*extra_path, ROOT, TESTS, TESTS / "execution")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths),
                DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0", **(extra_env or {}))


def start_scheduler(folder: Path, *, extra_path: Sequence[Path] = ()) -> tuple[subprocess.Popen, str]:
    """`dask scheduler` on a free port; returns the process and its address.

    The scheduler unpickles the tasks too: it needs the tasks' code on its path.
    """
    info = folder / "scheduler.json"
    proc = subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--dashboard-address", "127.0.0.1:0",
         "--scheduler-file", str(info)],
        env=cluster_env(extra_path), stdout=subprocess.DEVNULL,
        stderr=open(folder / "scheduler.log", "wb"),
        start_new_session=True)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if info.exists():
            try:
                return proc, json.loads(info.read_text())["address"]
            except (ValueError, KeyError):
                pass  # still being written
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    stop(proc)
    raise RuntimeError(f"dask scheduler did not start: {(folder / 'scheduler.log').read_text()}")


def start_workers(address: str, folder: Path, *, n: int = 2, name: str = "w",
                  extra_path: Sequence[Path] = (), extra_env: Mapping[str, str] | None = None
                  ) -> subprocess.Popen:
    """`dask worker ADDRESS --nworkers n --nthreads 1` (with nannies, as by default);
    ``extra_env`` is added to their environment (other kernels forced, say)."""
    return subprocess.Popen(
        [str(DASK), "worker", address, "--nworkers", str(n), "--nthreads", "1",
         "--host", "127.0.0.1", "--no-dashboard", "--name", name,
         "--local-directory", str(folder / f"dask-{name}")],
        env=cluster_env(extra_path, extra_env), stdout=subprocess.DEVNULL,
        stderr=open(folder / f"worker-{name}.log", "wb"), start_new_session=True)


def can_cover_folders() -> bool:
    """Whether a worker can be started with its own storage over a folder (root, mount namespaces)."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs none /mnt"], capture_output=True)
    return probe.returncode == 0


def start_worker_on_other_storage(address: str, folder: Path, covered: Path, *,
                                  name: str) -> subprocess.Popen:
    """One `dask worker` (one thread) that sees an empty folder of its own over ``covered``,
    with the same sub-folders: the worker of another machine whose output folder is its
    local disk, not the shared storage (a tmpfs in a private mount namespace)."""
    script = ('dirs=$(cd "$1" && find . -mindepth 1 -type d) && mount -t tmpfs none "$1" && '
              'cd "$1" && for d in $dirs; do mkdir -p "$d"; done && cd / && shift && exec "$@"')
    worker = [str(DASK), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
              "--no-dashboard", "--name", name, "--local-directory", str(folder / f"dask-{name}")]
    return subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                             str(covered), *worker],
                            env=cluster_env(), stdout=subprocess.DEVNULL,
                            stderr=open(folder / f"worker-{name}.log", "wb"), start_new_session=True)


@contextlib.contextmanager
def running_cluster(folder: Path, *, n: int = 2) -> Iterator[str]:
    """A scheduler and ``n`` single-thread workers for the block; yields the address."""
    scheduler, address = start_scheduler(folder)
    workers = start_workers(address, folder, n=n)
    try:
        wait_for_workers(address, n)
        yield address
    finally:
        stop(workers)
        stop(scheduler)


def worker_pids(address: str) -> list[int]:
    """The process ids of the scheduler's workers, in address order."""
    from distributed import Client

    with Client(address, timeout=10, set_as_default=False) as client:
        return [pid for _, pid in sorted(client.run(os.getpid, on_error="ignore").items())]


def wait_for_workers(address: str, n: int, *, named: str | None = None) -> None:
    """Until the scheduler at ``address`` has exactly ``n`` workers (one of them ``named``).

    A worker that was just restarted may be counted twice for a moment, so a test that
    waits for a new worker names it.
    """
    from distributed import Client

    def ready(workers: dict) -> bool:
        return len(workers) == n and (named is None or any(str(w["name"]) == named
                                                           for w in workers.values()))

    with Client(address, timeout=10, set_as_default=False) as client:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready(client.scheduler_info(n_workers=-1)["workers"]):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the scheduler at {address} did not get {n} workers")
            time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """End a process started here and everything left in its session."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


#: In a worker process: the event that stops its thread drawing from the global generators.
_CHURNING: list[threading.Event] = []


def _churn(stop: threading.Event) -> None:
    import random

    import numpy as np

    while not stop.is_set():
        random.random()
        np.random.random()


def start_churning() -> None:
    """Run in a worker (``Client.run``): a thread draws from ``random`` and ``np.random`` in a
    tight loop, and threads switch often, so a task reading the global generators is disturbed."""
    stop = threading.Event()
    _CHURNING.append(stop)
    sys.setswitchinterval(2e-4)
    threading.Thread(target=_churn, args=(stop,), daemon=True, name="churn-global-rngs").start()


def stop_churning() -> int:
    """Run in a worker: stop its churning threads; returns how many were running."""
    count = len(_CHURNING)
    while _CHURNING:
        _CHURNING.pop().set()
    sys.setswitchinterval(0.005)
    return count


@contextlib.contextmanager
def global_rngs_churning(address: str) -> Iterator[None]:
    """Every worker of the scheduler at ``address`` draws from the global generators for the block."""
    from distributed import Client

    with Client(address, timeout=10, set_as_default=False) as client:
        client.run(start_churning)
        try:
            yield
        finally:
            counts = client.run(stop_churning, on_error="ignore")
    assert all(n == 1 for n in counts.values() if isinstance(n, int)), counts
