"""The process pool executor: results, failures, dead workers, timeouts, thread pinning."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time

import numpy as np
import pytest

from nightscan_common.errors import AudioFileError
from nightscan_common.execution import RunStopped, process_pool
from nightscan_common.execution.base import pin_native_threads
from nightscan_common.execution.process_pool import WORKER_DIED, ProcessPool


def run_in_pool(func, items, *, num_workers, **kw):
    return ProcessPool(num_workers).map(func, list(items), **kw)


def _work(x: int) -> int:
    if x == 3:
        raise AudioFileError("f3.wav", "not a readable audio file")
    if x == 5:
        raise ValueError("unexpected")
    if x == 7:
        os.kill(os.getpid(), signal.SIGKILL)
    if x == 9:
        time.sleep(30)
    return x * x


def _blas_threads(_x: int) -> int:
    from threadpoolctl import threadpool_info

    return max(i["num_threads"] for i in threadpool_info())


def test_every_item_has_an_outcome_and_failures_say_why():
    got = {o.item: o for o in run_in_pool(_work, range(14), num_workers=2, desc="t", chunksize=2,
                                           timeout=1.0, progress=False)}
    assert sorted(got) == list(range(14))
    assert got[3].error == "not a readable audio file"
    assert got[5].error == "ValueError: unexpected"
    assert got[7].error == WORKER_DIED
    assert got[9].error == "timed out after 1 s"
    assert all(got[i].result == i * i and got[i].ok for i in (0, 1, 2, 4, 6, 8, 10, 11, 12, 13))


def test_results_do_not_depend_on_worker_count():
    one = sorted((o.item, o.result) for o in run_in_pool(abs, range(-20, 20), num_workers=1, desc="t",
                                                          progress=False))
    two = sorted((o.item, o.result) for o in run_in_pool(abs, range(-20, 20), num_workers=2, desc="t",
                                                          chunksize=3, progress=False))
    assert one == two


def test_workers_run_the_setup_that_pins_blas_to_one_thread():
    outcomes = list(run_in_pool(_blas_threads, [0, 1], num_workers=2, desc="t", progress=False,
                                setup=pin_native_threads))
    assert [o.result for o in outcomes] == [1, 1]


def _released_on_free(_x: int) -> int:
    """Bytes that freeing three 24 MB arrays gives back to the kernel."""
    def resident() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    arrays = [np.ones(24 << 20, np.uint8) for _ in range(3)]
    peak = resident()
    del arrays
    return peak - resident()


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux's /proc")
def test_workers_keep_freed_memory_for_the_next_item(monkeypatch):
    def released() -> int:
        return next(run_in_pool(_released_on_free, [0], num_workers=1, desc="t", progress=False)).result

    assert released() < 8 << 20  # kept: the next item's arrays fault no pages in
    monkeypatch.setattr(process_pool, "reuse_freed_memory", lambda: False)
    assert released() >= 20 << 20  # glibc's default: much of it back to the kernel


def _stuck_or_full(x: int) -> int:
    if x == 1:  # as if looping in native code: the alarm's Python handler never runs
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(30)
    if x == 12:
        raise OSError(errno.ENOSPC, "No space left on device", "/out/12.npy")
    return x


def test_an_item_stuck_in_native_code_is_ended_by_the_watchdog():
    started = time.monotonic()
    got = {o.item: o for o in run_in_pool(_stuck_or_full, range(4), num_workers=2, desc="t", timeout=0.5,
                                           progress=False)}
    assert got[1].error == WORKER_DIED and all(got[i].ok for i in (0, 2, 3))
    assert time.monotonic() - started < 10


def test_a_full_output_disk_stops_the_run():
    with pytest.raises(RunStopped) as info:
        list(run_in_pool(_stuck_or_full, range(10, 20), num_workers=2, desc="t", progress=False))
    assert info.value.errno == errno.ENOSPC and info.value.filename == "/out/12.npy"


def _open_files(_x: int) -> set[str]:
    """The files this process holds open; an fd that another thread closes meanwhile (the
    listing's own, a test runner's) is skipped."""
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):
            found.add(os.readlink(f"/proc/self/fd/{fd}"))
    return found


def test_workers_do_not_keep_the_run_lock_alive(tmp_path):
    """A killed run's lock must die with it, not with its last worker."""
    from nightscan_common.io.run_lock import exclusive_run, lock_path_for

    lock = str(lock_path_for(tmp_path, folder=True))
    with exclusive_run(tmp_path, folder=True):
        assert lock in _open_files(0)
        outcomes = list(run_in_pool(_open_files, [0], num_workers=1, desc="t", progress=False))
        assert lock not in outcomes[0].result
