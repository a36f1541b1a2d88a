"""The Dask executor on a real cluster: the serial executor's outcomes, set-up once per worker,
dead and hung workers, a full disk, an unreachable or lost scheduler, the probe (the steps
through ``--scheduler``: tests/test_dask_cli.py)."""

from __future__ import annotations

import errno
import functools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from dask_cluster import ROOT, running_cluster, start_scheduler, start_workers, stop, wait_for_workers

from nightscan_common.errors import AudioFileError, ClusterUnusable, SchedulerLost, TaskFailed, UsageError
from nightscan_common.execution import RunStopped
from nightscan_common.execution.dask_executor import MAX_BATCH, DaskExecutor, batch_size
from nightscan_common.execution.dask_gate import MARKER_PREFIX
from nightscan_common.execution.process_pool import WORKER_DIED
from nightscan_common.execution.serial import SerialExecutor


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two single-thread workers, for every test of this module."""
    with running_cluster(tmp_path_factory.mktemp("cluster")) as address:
        yield address


@pytest.fixture
def executor(cluster):
    wait_for_workers(cluster, 2)  # a test before may have had workers restarted
    with DaskExecutor.connect(cluster, num_workers=2) as ex:
        yield ex


def _work(x: int) -> int:
    if x == 3:
        raise AudioFileError("f3.wav", "not a readable audio file")
    if x == 5:
        raise ValueError("unexpected")
    if x == 6:
        raise MemoryError()
    if x == 7:
        raise TaskFailed("too short")
    if x == 8:
        raise OSError(errno.ENOENT, "No such file or directory", "/in/8.wav")
    if x == 12:
        raise OSError(errno.ENOSPC, "No space left on device", "/out/12.npy")
    return x * x


def _pid(x: int) -> int:
    time.sleep(0.01)
    return os.getpid()


def _kill_or_square(marker_dir: str, killers: tuple[int, ...], x: int) -> int:
    """Kills its worker for a killer item: always for 13, the first time for 17."""
    marker = Path(marker_dir, f"{x}.killed")
    if x in killers and (x == 13 or not marker.exists()):
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.02)
    return x * x


def _hang(pid_file: str, x: int) -> int:
    if x == 4:
        with open(pid_file, "a") as fh:  # Dask may run a batch twice (work stealing races)
            fh.write(f"{os.getpid()}\n")
        time.sleep(60)  # blocked outside Python's reach: the worker must be restarted
    if x == 9:
        while True:  # a Python loop: the time-out exception stops it
            pass
    return x


@dataclass(frozen=True)
class RecordSetup:
    """A step's set-up: appends this worker's pid to a file (once per worker, we check)."""

    log: str

    def __call__(self) -> None:
        with open(self.log, "a", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")


def test_outcomes_are_the_serial_executors_word_for_word(executor):
    items = [0, 3, 5, 6, 7, 8, 10, 11]
    serial = sorted((o.item, o.result, o.error) for o in
                    SerialExecutor().map(_work, items, desc="t", progress=False))
    dask = sorted((o.item, o.result, o.error) for o in
                  executor.map(_work, items, desc="t", progress=False))
    assert dask == serial
    assert dict((i, e) for i, _, e in dask) == {
        0: None, 3: "not a readable audio file", 5: "ValueError: unexpected",
        6: "out of memory", 7: "too short", 8: "FileNotFoundError: [Errno 2] No such file or "
        "directory: '/in/8.wav'", 10: None, 11: None}


def test_set_up_runs_once_per_worker_and_both_workers_take_part(executor, tmp_path):
    log = tmp_path / "setup.log"
    setup = RecordSetup(str(log))
    pids = set()
    for _ in range(2):  # a second map with the same set-up does not run it again
        pids |= {o.result for o in executor.map(_pid, range(200), desc="t", setup=setup,
                                                 progress=False)}
    ran = log.read_text().split()
    assert len(ran) == len(set(ran)) == 2 and {int(p) for p in ran} == pids
    assert len(executor.workers_used) == 2 and executor.num_workers == 2


def test_a_full_output_disk_stops_the_run(executor):
    with pytest.raises(RunStopped) as info:
        list(executor.map(_work, [10, 11, 12], desc="t", progress=False))
    assert info.value.errno == errno.ENOSPC and info.value.filename == "/out/12.npy"


@pytest.mark.parametrize("killer", [13, 17])
def test_a_killed_worker_fails_only_the_item_that_kills_it_again(executor, tmp_path, killer):
    task = functools.partial(_kill_or_square, str(tmp_path), (killer,))
    got = {o.item: (o.result, o.error) for o in executor.map(task, range(30), desc="t",
                                                              progress=False)}
    assert (tmp_path / f"{killer}.killed").exists()
    assert got == {x: (None, WORKER_DIED) if x == killer == 13 else (x * x, None) for x in range(30)}


def test_a_hung_item_is_listed_as_timed_out_and_its_worker_restarted(executor, tmp_path):
    pid_file = tmp_path / "hung.pid"
    start = time.monotonic()
    got = {o.item: o.error for o in executor.map(functools.partial(_hang, str(pid_file)),
                                                  range(12), desc="t", timeout=0.5, progress=False)}
    assert got == {x: "timed out after 0.5 s" if x in (4, 9) else None for x in range(12)}
    assert time.monotonic() - start < 30
    # the worker whose stuck run was reported is restarted; a duplicate run that Dask
    # started elsewhere (and whose result it dropped) sleeps on until its item returns
    pids = [int(p) for p in pid_file.read_text().split()]
    assert wait_until_one_gone(pids), f"the stuck worker still runs ({pids})"


def wait_until_one_gone(pids: list[int], timeout: float = 45) -> bool:
    deadline = time.monotonic() + timeout
    while all(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not all(Path(f"/proc/{pid}").exists() for pid in pids)


def test_batches_grow_with_the_plan_up_to_a_bound():
    assert batch_size(10, 2) == 1
    assert batch_size(160, 2) == 10
    assert batch_size(1_000_000, 2) == batch_size(1_000_000, 64) == MAX_BATCH
    assert batch_size(10, 2, minimum=16) == 16


def test_making_no_dask_executor_imports_no_dask():
    code = ("import sys; import nightscan_common.execution.dask_executor, create_augmented_pool, "
            "pregenerate_spectrograms_simple; print(sorted(m for m in sys.modules if "
            "m.split('.')[0] in ('dask', 'distributed')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert out == "[]\n"


def test_an_unreachable_scheduler_is_one_line_within_seconds():
    start = time.monotonic()
    with pytest.raises(ClusterUnusable) as info:
        DaskExecutor.connect("tcp://127.0.0.1:9", num_workers=2, connect_timeout=2)
    assert time.monotonic() - start < 10
    assert isinstance(info.value, UsageError) and "\n" not in str(info.value)
    assert str(info.value).startswith("cannot reach the Dask scheduler at tcp://127.0.0.1:9 (")


def test_the_probe_names_the_worker_and_what_it_lacks(cluster, executor, tmp_path):
    executor.probe(readable=[ROOT], writable=[tmp_path])  # all there: no error
    # the probe's marker is gone; the run's stays for workers that join later, until the end
    assert [p.name.startswith(MARKER_PREFIX) for p in tmp_path.iterdir()] == [True]
    with pytest.raises(ClusterUnusable, match=r"^Dask worker tcp://127\.0\.0\.1:\d+ lacks "
                       + str(tmp_path / "nowhere") + r" \(no such folder there\) \(and 1 other\(s\)\)$"):
        executor.probe(readable=[tmp_path / "nowhere"])
    fake = _fake_soundfile(tmp_path)  # a worker where another soundfile comes first
    odd = start_workers(cluster, tmp_path, n=1, name="odd", extra_path=[fake])
    try:
        wait_for_workers(cluster, 3, named="odd")
        import soundfile

        with pytest.raises(ClusterUnusable) as info:
            executor.probe()
        assert str(info.value) == (f"Dask worker {_address_of(executor, 'odd')} has soundfile "
                                   f"0.0.1, not {soundfile.__version__} as the parent")
    finally:
        stop(odd)


def test_the_probe_names_a_scheduler_with_other_versions(tmp_path):
    import soundfile

    scheduler, address = start_scheduler(tmp_path, extra_path=[_fake_soundfile(tmp_path)])
    workers = start_workers(address, tmp_path, n=1)
    try:
        with DaskExecutor.connect(address, num_workers=1) as ex, \
                pytest.raises(ClusterUnusable) as info:
            ex.probe()
        assert str(info.value) == (f"Dask scheduler {address} has soundfile 0.0.1, not "
                                   f"{soundfile.__version__} as the parent")
    finally:
        stop(workers)
        stop(scheduler)


def _fake_soundfile(folder: Path) -> Path:
    fake = folder / "fake"
    fake.mkdir()
    (fake / "soundfile.py").write_text('__version__ = "0.0.1"\n')
    return fake


def _address_of(executor: DaskExecutor, name: str) -> str:
    workers = executor._client.scheduler_info(n_workers=-1)["workers"]
    return next(a for a, w in workers.items() if str(w["name"]) == name)


def test_a_lost_scheduler_stops_the_run_with_one_line(tmp_path):
    scheduler, address = start_scheduler(tmp_path)
    workers = start_workers(address, tmp_path, n=1)
    try:
        with DaskExecutor.connect(address, num_workers=1, connect_timeout=2) as ex:
            outcomes = ex.map(time.sleep, [0.05] * 400, desc="t", progress=False)
            next(outcomes)
            stop(scheduler)
            start = time.monotonic()
            with pytest.raises(SchedulerLost) as info:
                list(outcomes)
            assert time.monotonic() - start < 10
        assert str(info.value) == (f"lost the Dask scheduler at {address}; finished files are "
                                   "kept, rerun the same command to resume")
    finally:
        stop(workers)
        stop(scheduler)


def test_a_run_gate_keeps_its_marker_for_the_run_and_clears_a_killed_runs(tmp_path):
    import socket

    from nightscan_common.execution.dask_gate import close_gate, open_gate

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    orphan = tmp_path / f"{MARKER_PREFIX}{dead}@{socket.gethostname()}-0f"
    elsewhere = tmp_path / f"{MARKER_PREFIX}{dead}@another-host-0f"  # its parent may live
    orphan.touch()
    elsewhere.touch()
    gate = open_gate(readable=[ROOT], writable=[tmp_path])
    assert gate.problems_here() == []  # this machine sees the marker: it may work
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([elsewhere.name, *gate.markers.values()])
    close_gate(gate)
    assert [p.name for p in tmp_path.iterdir()] == [elsewhere.name]
