"""A step's executor from ``--scheduler`` and ``--num-workers``: the local pool, or a probed Dask cluster.

``RunOptions`` is the run control every step shares; ``open_executor`` is the one place
that turns it into an executor. Without ``--scheduler`` nothing here imports Dask. With
it, the output folder is made (the probe needs it to check that every worker sees it),
the cluster is connected and probed before any work, and a folder made here is removed
again, if still empty, when the run cannot start. The executor describes itself in the
step's report (``Executor.describe``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import UsageError
from .base import DEFAULT_NUM_WORKERS, LOCAL, ClusterUse, Executor, default_max_memory
from .process_pool import ProcessPool

__all__ = ["LOCAL", "ClusterUse", "RunOptions", "open_executor"]


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """How a step runs, never what it makes (a rerun need not match it): shared by the steps.

    Every step's entry takes it as ``run=``; its content options (what the output records
    and a rerun must match) are a record of their own.
    """

    num_workers: int = DEFAULT_NUM_WORKERS
    scheduler: str | None = None  # a Dask scheduler's address, LOCAL, or None: the local pool
    max_memory: int | None = None  # bytes for the tasks running at once; None: default_max_memory()
    progress: bool = True
    timeout: float | None = None  # seconds per unit of work (an original, a file); None: the step's

    def with_defaults(self, *, timeout: float) -> RunOptions:
        """This record with nothing left to choose: the memory budget measured now (as
        ``default_max_memory()`` says) when not given, and the step's ``timeout``."""
        memory = self.max_memory if self.max_memory is not None else default_max_memory()
        return replace(self, max_memory=memory, timeout=self.timeout if self.timeout is not None else timeout)


@contextlib.contextmanager
def open_executor(run: RunOptions, *, readable: Sequence[str | os.PathLike] = (),
                  writable: Sequence[str | os.PathLike] = ()) -> Iterator[Executor]:
    """The executor of ``run``, closed after the block: the local process pool without a
    scheduler, else a Dask executor connected and probed.

    ``readable`` and ``writable`` are the folders the workers read and write; on a cluster
    the ``writable`` ones are made here. Raises ``ClusterUnusable`` (exit 2) for an
    unreachable scheduler or a worker that lacks a folder or a library version.
    """
    if run.scheduler is None:
        memory = run.max_memory if run.max_memory is not None else default_max_memory()
        with ProcessPool(run.num_workers, max_memory=memory) as pool:
            yield pool
        return
    from .dask_executor import DaskExecutor

    made = _make_folders([Path(f) for f in writable])
    try:
        with DaskExecutor.connect(run.scheduler, num_workers=run.num_workers) as ex:
            ex.probe(readable=readable, writable=writable)
            yield ex
    except BaseException:
        for folder in reversed(made):  # nothing half-written: only the folders made here, if empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _make_folders(folders: Sequence[Path]) -> list[Path]:
    """Make each folder with its missing parents; return those made, outermost first."""
    made: list[Path] = []
    for folder in folders:
        missing = [p for p in (folder, *folder.parents) if not p.exists()][::-1]
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot make the output folder {folder} ({exc.strerror})") from None
        made += missing
    return made
