"""A step's executor from ``--scheduler``: the local pool (None), or a Dask cluster probed first.

Without ``--scheduler`` nothing here imports Dask. With it, the output folder is made
(the probe needs it to check that every worker sees it), the cluster is connected and
probed before any work, and a folder made here is removed again, if still empty, when
the run cannot start.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

if TYPE_CHECKING:
    from .dask_executor import DaskExecutor

@contextlib.contextmanager
def scheduler_executor(scheduler: str | None, *, num_workers: int,
                       readable: Sequence[str | os.PathLike] = (),
                       writable: Sequence[str | os.PathLike] = ()) -> Iterator[DaskExecutor | None]:
    """None without ``scheduler`` (the step makes its process pool); else a probed Dask executor.

    ``readable`` and ``writable`` are the folders the workers read and write; the
    ``writable`` ones are made here. Raises ``ClusterUnusable`` (exit 2) for an
    unreachable scheduler or a worker that lacks a folder or a library version.
    """
    if scheduler is None:
        yield None
        return
    from .dask_executor import DaskExecutor

    made = _make_folders([Path(f) for f in writable])
    try:
        with DaskExecutor.connect(scheduler, num_workers=num_workers) as ex:
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
