"""Shared fixtures: seeded RNG, small synthetic recordings written into tmp_path; the fault
suite's ledger, printed at the end of the run, a one-hour recording and a small tmpfs."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nightscan_common.dsp.synthetic import write_recording  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def make_audio_root(tmp_path: Path):
    """Build ``tmp_path/audio_root/<class>/rec_NNN.wav`` with the given counts per class.

    ``make_audio_root({"owl": 7, "bat": 25}, seconds=0.5)`` -> the root's path.
    """

    def build(counts: dict[str, int], *, seconds: float = 0.5, samplerate: int = 16000,
              name: str = "audio_root") -> Path:
        root = tmp_path / name
        calls = ["hoots", "sweeps", "clicks", "noise_bursts", "trills"]
        for ci, (cls, n) in enumerate(sorted(counts.items())):
            (root / cls).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                write_recording(root / cls / f"rec_{i:03d}.wav", call=calls[ci % len(calls)],
                                seconds=seconds, samplerate=samplerate, seed=ci * 1000 + i)
        return root

    return build


# ---------------------------------------------------------------- the fault suite's ledger


class FaultLedger:
    """What the fault tests did, recorded as they do it and printed at the end of the run."""

    STEPS = ("step 1", "step 2", "step 3")

    def __init__(self) -> None:
        self.bad_inputs: Counter[str] = Counter()
        self.interruptions: Counter[str] = Counter()
        self.worker_faults: Counter[str] = Counter()
        self.disk_faults: Counter[str] = Counter()
        self.mutations: Counter[str] = Counter()
        self.files_checked = 0
        self.files_lost = 0

    def account(self, expected: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
        """Compare files that must be there (path -> checksum) with what is; count the lost.

        Returns the lost ones (missing, or other bytes) for the test to assert on.
        """
        lost = sorted(k for k, v in expected.items() if actual.get(k) != v)
        self.files_checked += len(expected)
        self.files_lost += len(lost)
        return lost

    _COUNTERS = ("bad_inputs", "interruptions", "worker_faults", "disk_faults", "mutations")

    def to_dict(self) -> dict:
        """What one test process recorded, for the process that prints the summary."""
        return {**{name: dict(getattr(self, name)) for name in self._COUNTERS},
                "files_checked": self.files_checked, "files_lost": self.files_lost}

    def add(self, recorded: Mapping) -> None:
        """Add another test process's ``to_dict`` (tests run in several processes)."""
        for name in self._COUNTERS:
            getattr(self, name).update(recorded[name])
        self.files_checked += recorded["files_checked"]
        self.files_lost += recorded["files_lost"]

    def lines(self) -> list[str]:
        def per_step(counter: Counter[str]) -> str:
            steps = ", ".join(f"{s}: {counter[s]}" for s in self.STEPS if counter[s])
            return f"{sum(counter.values())} ({steps})" if steps else "0"

        return [
            f"bad inputs tried:        {per_step(self.bad_inputs)}",
            f"interruptions survived:  {per_step(self.interruptions)} "
            "(SIGINT, SIGTERM, SIGHUP or SIGKILL, then a rerun)",
            f"worker faults isolated:  {per_step(self.worker_faults)} (killed, hung, stuck in native code)",
            f"disk faults survived:    {per_step(self.disk_faults)} (full, file too large, read-only)",
            f"mutations fuzzed:        {per_step(self.mutations)}",
            f"files lost:              {self.files_lost} (of {self.files_checked} checked)",
        ]

    def __bool__(self) -> bool:
        return bool(self.files_checked or self.bad_inputs or self.interruptions or self.worker_faults
                    or self.disk_faults or self.mutations)


_FAULT_LEDGER = pytest.StashKey[FaultLedger]()


@pytest.fixture(scope="session")
def fault_ledger(request: pytest.FixtureRequest) -> FaultLedger:
    """The session's ``FaultLedger``: fault tests record into it what they tried."""
    return request.config.stash.setdefault(_FAULT_LEDGER, FaultLedger())


def pytest_testnodedown(node, error) -> None:
    """With ``-n`` (pytest-xdist), each test process hands its ledger to the one that prints."""
    recorded = getattr(node, "workeroutput", {}).get("fault_ledger")
    if recorded:
        node.config.stash.setdefault(_FAULT_LEDGER, FaultLedger()).add(json.loads(recorded))


def pytest_sessionfinish(session) -> None:
    ledger = session.config.stash.get(_FAULT_LEDGER, None)
    if ledger and hasattr(session.config, "workeroutput"):  # a test process of pytest-xdist
        session.config.workeroutput["fault_ledger"] = json.dumps(ledger.to_dict())


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    ledger = config.stash.get(_FAULT_LEDGER, None)
    if ledger:
        terminalreporter.section("fault suite")
        for line in ledger.lines():
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def hour_long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<dir>/long/owl/hour.wav``, one hour of 8 kHz mono 16-bit, and ``<dir>/short/owl/hour.wav``,
    10 s of the same, for comparing what reading them costs."""
    from fault_helpers import write_hour_wav

    base = tmp_path_factory.mktemp("hour")
    write_hour_wav(base / "short" / "owl" / "hour.wav", seconds=10)
    return write_hour_wav(base / "long" / "owl" / "hour.wav")


@pytest.fixture
def small_tmpfs(tmp_path: Path):
    """Mount a 1 MB tmpfs at ``tmp_path/disk``; yields ``(path, remount)``. Skipped where
    mounting is not permitted. ``remount("size=8m")`` or ``remount("ro")`` changes it."""
    import shutil
    import subprocess

    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    disk = tmp_path / "disk"
    disk.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip() or res.returncode}")

    def remount(options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(disk)], check=True)

    try:
        yield disk, remount
    finally:
        if subprocess.run(["umount", str(disk)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], capture_output=True)


TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:  # the helpers beside this file, for tests in sub-folders
    sys.path.insert(0, str(TESTS))
