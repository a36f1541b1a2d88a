"""One run at a time per output: an advisory lock that dies with its process.

``flock`` is released by the kernel when the holder exits, even by SIGKILL, so a
crashed run never leaves a stale lock behind; the lock file itself is left in place
(removing it would race with a run that is opening it) and never written, so a
rerun that has nothing to do changes nothing.

.. note:: A ``flock`` belongs to the open file, which forked workers inherit: the lock
   would outlive a killed run until its last worker has died, and a prompt rerun would
   be refused. Forked children therefore close the lock descriptors they inherit.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import UsageError

_held_fds: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in _held_fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_fds.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)


def lock_path_for(output: str | os.PathLike, *, folder: bool | None = None) -> Path:
    """The lock of a folder lives inside it; the lock of a file, hidden beside it.

    ``folder`` says which ``output`` is; by default, a folder if one exists there.
    """
    output = Path(output)
    if folder is None:
        folder = output.is_dir()
    return output / ".nightscan.lock" if folder else output.parent / f".{output.name}.lock"


def held_by_a_run(output: str | os.PathLike, *, folder: bool | None = None) -> bool:
    """Whether a run holds ``output``'s lock now; creates nothing and never waits.

    A lock file that is missing or cannot be opened is held by no run.
    """
    try:
        fd = os.open(lock_path_for(output, folder=folder), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing the descriptor releases a shared lock just taken
    return False


@contextlib.contextmanager
def exclusive_run(output: str | os.PathLike, *, folder: bool | None = None) -> Iterator[None]:
    """Hold the output's lock for the block; with ``folder=True``, make the folder first.

    ``UsageError`` if another run holds it, or if the lock cannot be made there (a
    read-only disk, a path through a file): the output is unusable, before any work.
    """
    path = lock_path_for(output, folder=folder)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        if isinstance(exc, FileExistsError):
            reason = f"{exc.filename} exists and is not a folder"
        elif isinstance(exc, NotADirectoryError):
            reason = f"a part of {exc.filename} is a file, not a folder"
        else:
            reason = f"{exc.strerror}: {exc.filename}"
        raise UsageError(f"cannot write to {output} ({reason}); choose a writable output") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"another run is writing to {output}; wait for it to finish, "
                             "or choose another output") from None
        _held_fds.add(fd)
        yield
    finally:
        _held_fds.discard(fd)
        os.close(fd)
