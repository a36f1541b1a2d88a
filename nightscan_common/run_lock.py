"""One run at a time per output: an advisory lock that dies with its process.

``flock`` is released by the kernel when the holder exits, even by SIGKILL, so a
crashed run never leaves a stale lock behind; the lock file itself is left in place
(removing it would race with a run that is opening it) and never written, so a
rerun that has nothing to do changes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from .errors import UsageError


def lock_path_for(output: str | os.PathLike) -> Path:
    """The lock of a folder lives inside it; the lock of a file, hidden beside it."""
    output = Path(output)
    return output / ".nightscan.lock" if output.is_dir() else output.parent / f".{output.name}.lock"


@contextlib.contextmanager
def exclusive_run(output: str | os.PathLike) -> Iterator[None]:
    """Hold the output's lock for the block; ``UsageError`` if another run holds it."""
    path = lock_path_for(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another run is writing to {output}; wait for it to finish, "
                             "or choose another output") from None
        yield
    finally:
        os.close(fd)
