"""Measuring a command: wall and CPU seconds, peak memory of its parent and largest worker."""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Measure:
    """What one run of a command cost."""

    name: str
    wall: float = 0.0
    cpu: float = 0.0
    sys_cpu: float = 0.0  # the part of ``cpu`` spent in the kernel
    parent_peak_mb: float = 0.0
    worker_peak_mb: float = 0.0
    files: int = 0
    bytes_written: int = 0
    status: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def files_per_s(self) -> float:
        return self.files / self.wall if self.wall else 0.0


def _children(pid: int) -> list[int]:
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                kids += [int(k) for k in fh.read().split()]
    except OSError:
        pass
    return kids


def _peak_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMonitor(threading.Thread):
    """Samples the peak resident memory (VmHWM) of a process and its descendants."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peaks: dict[int, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            todo = [self.pid]
            while todo:
                pid = todo.pop()
                kb = _peak_kb(pid)
                if kb:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), kb)
                todo += _children(pid)
            time.sleep(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def measure(name: str, argv: list[str], *, output: Path | None = None, files: int = 0,
            env: dict | None = None, cwd: Path | None = None) -> Measure:
    """Run ``argv`` to completion and measure it; CPU and system time include every worker."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    monitor = TreeMonitor(proc.pid)
    monitor.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    monitor.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys_cpu = after.ru_stime - before.ru_stime
    cpu = after.ru_utime - before.ru_utime + sys_cpu
    peaks = dict(monitor.peaks)
    parent = peaks.pop(proc.pid, 0)
    m = Measure(name, wall, cpu, sys_cpu, parent / 1024, max(peaks.values(), default=0) / 1024, files,
                tree_bytes(output) if output and output.exists() else 0, proc.returncode,
                extra={"stderr": err})
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{name} failed ({proc.returncode}):\n{out[-2000:]}\n{err[-2000:]}")
    return m
