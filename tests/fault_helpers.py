"""What the fault tests share: snapshots of folders, runs paused at a known point, signals.

A run is paused through ``paused_step.py``: one function of the step stops on its Nth
call and creates a marker file, and the test sends its signal once the marker is there.
"""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from nightscan_common.formats.step_outcome import OUTCOME_FILENAME
from nightscan_common.io.atomic_write import TEMP_SUFFIX, atomic_path

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = Path(__file__).resolve().parent / "paused_step.py"


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``folder``; links by target, unfollowed.

    An empty dict for a folder that does not exist.
    """
    found: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, folder)
            if os.path.islink(path):
                found[rel] = "link -> " + os.readlink(path)
            elif name in filenames:
                with open(path, "rb") as fh:
                    found[rel] = hashlib.sha256(fh.read()).hexdigest()
            else:
                found[rel] = "folder"
    return found


def temporaries(folder: Path) -> list[str]:
    """Our temporaries below ``folder`` (what an interrupted write leaves)."""
    return sorted(os.path.join(d, n) for d, _, names in os.walk(folder)
                  for n in names if n.endswith(TEMP_SUFFIX))


def final_files(folder: Path) -> dict[str, str]:
    """``snapshot`` without temporaries, lock files and the front end's record of its run
    (``step_outcome.json``, which a library run does not write): what readers of the output see."""
    return {k: v for k, v in snapshot(folder).items()
            if not k.endswith((TEMP_SUFFIX, ".lock", OUTCOME_FILENAME)) and v != "folder"}


def half_written(folder: Path, reference: Path) -> list[str]:
    """Files under a final name in ``folder`` whose bytes differ from ``reference``'s."""
    ref = final_files(reference)
    return sorted(k for k, v in final_files(folder).items() if k in ref and ref[k] != v)


def call_main(main: Callable[..., int], argv: Sequence[object], capsys, **run) -> tuple[int, str, str]:
    """Run a front end in-process: (exit status, stdout, stderr); ``run``: its run options."""
    capsys.readouterr()
    try:
        status = main([str(a) for a in argv], **run)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def start_paused(tmp_path: Path, script: str, args: Sequence[object], *, pause: str, nth: int = 1,
                 after: bool = False) -> tuple[subprocess.Popen, Path]:
    """Start ``script`` in a session of its own, to pause on the ``nth`` call of ``pause``.

    SIGINT is reset to its default in the child (a shell running the tests in the
    background would leave it ignored, and Python would then keep ignoring it).
    """
    marker = tmp_path / f"paused-{time.monotonic_ns()}"
    argv = [sys.executable, str(LAUNCHER), str(marker), pause, str(nth), "after" if after else "before",
            script, *map(str, args)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    return proc, marker


def wait_for_pause(proc: subprocess.Popen, marker: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"the run ended (status {proc.returncode}) before its pause:\n{out}\n{err}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError("the run never reached its pause")
        time.sleep(0.02)


INTERRUPTED_LINE = "error: interrupted; finished files are kept, rerun the same command to resume"


def fill_disk_or_write_half(target: str | os.PathLike, *, fills: bool, half: bytes) -> None:
    """One of two racing workers: the one that ``fills`` finds the disk full once the other
    is halfway through writing ``target``, where that one waits to be killed."""
    if fills:
        time.sleep(0.5)  # the other worker is writing by now
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
    with atomic_path(target) as tmp:
        tmp.write_bytes(half)
        time.sleep(60)


def disk_stop_line(reason: str, path_pattern: str) -> str:
    """The pattern of the one line a run stopped by its output disk prints: the OS's
    ``reason`` (``No space left on device``), then the file it was writing."""
    return (rf"error: {reason}: {path_pattern}; finished files are kept, free space or fix "
            r"permissions and rerun to resume\n")


def interrupt(proc: subprocess.Popen, sig: int) -> None:
    """Stop a paused run as a user would, and check how it stopped.

    SIGINT goes to the whole process group, as a terminal's Ctrl-C does: the run must
    stop within seconds, exit 130 and say one line. SIGKILL goes to the main process
    only: its workers must not outlive it (the caller checks with ``wait_until_gone``).
    """
    if sig == signal.SIGINT:
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert time.monotonic() - sent < 10, "Ctrl-C was not prompt"
        assert proc.returncode == 130
        assert err.strip().splitlines() == [INTERRUPTED_LINE], err
    else:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)


def live_processes(session: int) -> list[int]:
    """Processes of a session that still run (zombies waiting for a reaper do not)."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, sid = fields[0], int(fields[3])
        if sid == session and state not in ("Z", "X"):
            alive.append(int(entry))
    return alive


def wait_until_gone(session: int, timeout: float = 15) -> list[int]:
    """Wait for every process of a session to end; return those still alive."""
    deadline = time.monotonic() + timeout
    while (alive := live_processes(session)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def write_hour_wav(path: Path, *, seconds: int = 3600, samplerate: int = 8000) -> Path:
    """A long mono 16-bit WAV written a minute at a time (57.6 MB for an hour at 8 kHz)."""
    t = np.arange(samplerate * 60) / samplerate
    minute = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(path, "w", samplerate, 1, "PCM_16") as f:
        for start in range(0, seconds, 60):
            f.write(minute[: (min(60, seconds - start)) * samplerate])
    return path


PEAK_MEMORY_SCRIPT = """
import resource, sys
sys.path.insert(0, {root!r})
import {module} as script
def peak():
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
for argv in {runs!r}:
    status = script.main(argv)
    print("peak:", status, peak(), flush=True)
"""


def peak_memory_kb(module: str, runs: Sequence[Sequence[object]]) -> list[tuple[int, int]]:
    """Run ``module.main(argv)`` for each argv in one fresh process, in order.

    Returns ``(exit status, peak resident memory in KB so far)`` after each run, the
    peak covering the process and its workers.
    """
    code = PEAK_MEMORY_SCRIPT.format(root=str(ROOT), module=module,
                                     runs=[[str(a) for a in argv] for argv in runs])
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return [tuple(map(int, line.split()[1:])) for line in res.stdout.splitlines()
            if line.startswith("peak: ")]


def limited_file_size(limit: int) -> Callable[[], None]:
    """A ``preexec_fn`` that caps the size of any file the child writes (RLIMIT_FSIZE).

    Python ignores SIGXFSZ, so a write past the cap fails with EFBIG, as on a full disk.
    """
    import resource

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run_limited(script: str, args: Sequence[object], *, file_size: int,
                timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``script`` with every file it writes capped at ``file_size`` bytes."""
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT, preexec_fn=limited_file_size(file_size))
