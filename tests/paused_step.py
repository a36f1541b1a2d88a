"""Run one of the three scripts with one function made to stop, for the fault tests.

    python tests/paused_step.py MARKER MODULE:NAME N before|after SCRIPT [ARGS...]

The Nth call of ``MODULE.NAME`` (NAME may be ``Class.method``), counted over the run's
processes, workers included, creates MARKER and then sleeps, before or after doing its
work, so that a test can signal the run at a known point of it. The patch is made
before the script runs, and forked workers inherit it.
"""

from __future__ import annotations

import functools
import importlib
import os
import runpy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAUSE_SECONDS = 300


def _pausing(func, marker: str, nth: int, after: bool):
    counter = marker + ".calls"

    def pause() -> None:
        fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, b".")
            calls = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if calls >= nth:
            Path(marker).touch()
            time.sleep(PAUSE_SECONDS)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if not after:
            pause()
        result = func(*args, **kwargs)
        if after:
            pause()
        return result

    return wrapper


def main() -> None:
    marker, target, nth, when, script, *args = sys.argv[1:]
    sys.path.insert(0, str(ROOT))
    module_name, name = target.split(":")
    owner = importlib.import_module(module_name)
    *path, name = name.split(".")  # "pathlib:Path.write_bytes": an attribute of a class
    for part in path:
        owner = getattr(owner, part)
    setattr(owner, name, _pausing(getattr(owner, name), marker, int(nth), when == "after"))
    sys.argv = [script, *args]
    runpy.run_path(str(ROOT / script), run_name="__main__")


if __name__ == "__main__":
    main()
