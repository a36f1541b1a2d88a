"""Running the top-level scripts as a user does, in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, *args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def start_script(script: str, *args: object) -> subprocess.Popen:
    """Start a script; its SIGINT is reset to the default, which a shell running the tests
    in the background leaves ignored (Python would then ignore Ctrl-C too)."""
    return subprocess.Popen([sys.executable, str(ROOT / script), *map(str, args)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def interrupt_when(proc: subprocess.Popen, ready: Callable[[], bool], sig: int = signal.SIGKILL,
                   timeout: float = 120) -> bool:
    """Send ``sig`` to the script once ``ready()``; False if it finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if ready():
            os.kill(proc.pid, sig)
            proc.wait(timeout=60)
            return True
        time.sleep(0.02)
    proc.kill()
    raise TimeoutError("the script never reached the point to interrupt")


def loading_numpy(pid: int) -> bool:
    """The process has mapped numpy's compiled core: its imports are under way."""
    try:
        return "_multiarray_umath" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".nightscan-tmp")]
