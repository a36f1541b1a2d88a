"""The serial executor: the same outcomes as the pool, set-up once, timeouts, a full disk."""

from __future__ import annotations

import errno
import time

import pytest

from nightscan_common.errors import AudioFileError
from nightscan_common.execution import RunStopped
from nightscan_common.execution.process_pool import ProcessPool
from nightscan_common.execution.serial import SerialExecutor


def _work(x: int) -> int:
    if x == 3:
        raise AudioFileError("f3.wav", "not a readable audio file")
    if x == 5:
        raise ValueError("unexpected")
    if x == 6:
        raise MemoryError()
    if x == 9:
        time.sleep(30)
    if x == 12:
        raise OSError(errno.ENOSPC, "No space left on device", "/out/12.npy")
    return x * x


def test_reasons_are_the_pools_word_for_word():
    items = [0, 3, 5, 6, 9, 10]
    serial = {o.item: o.error for o in SerialExecutor().map(_work, items, desc="t", timeout=0.5,
                                                               progress=False)}
    pool = {o.item: o.error for o in ProcessPool(2).map(_work, items, desc="t", timeout=0.5,
                                                          progress=False)}
    assert serial == pool == {0: None, 3: "not a readable audio file", 5: "ValueError: unexpected",
                              6: "out of memory", 9: "timed out after 0.5 s", 10: None}


def test_setup_runs_once_before_the_first_item():
    calls = []
    got = list(SerialExecutor().map(lambda x: (len(calls), x), [1, 2], desc="t",
                                    setup=lambda: calls.append("setup"), progress=False))
    assert calls == ["setup"] and [o.result for o in got] == [(1, 1), (1, 2)]


def test_a_full_output_disk_stops_the_run():
    with SerialExecutor() as ex, pytest.raises(RunStopped) as info:
        list(ex.map(_work, [11, 12, 13], desc="t", progress=False))
    assert info.value.errno == errno.ENOSPC and info.value.filename == "/out/12.npy"
