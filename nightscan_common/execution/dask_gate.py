"""Work only for probed workers: a worker that joins a Dask cluster mid-run is probed before its first batch.

The probe before the run (``dask_probe``) sees the workers there at the start. A worker
that joins later (an autoscaler, a user's ``dask worker`` on another machine) would take
batches unchecked: one whose output folder is on other storage writes files the parent
never sees. So the parent writes a run marker into each folder the work writes, keeps it
there for the run, and sends a ``WorkerGate`` with every batch: a worker runs the probe
once per run (``probe_here``: versions, folders, the markers), and a worker that fails it
runs no item of the run and says why (the run then stops, ``ClusterStopped``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .dask_probe import library_versions, probe_here

#: Run markers: ``.nightscan-run-<parent pid>@<host>-<random>``, removed when the run ends.
MARKER_PREFIX = ".nightscan-run-"

#: This worker process's verdicts, per run token: what it lacks (empty: it may work).
_VERDICTS: dict[str, list[str]] = {}


@dataclass(frozen=True, kw_only=True)
class WorkerGate:
    """What a worker checks once per run before its first batch: the parent's library
    versions, the folders read, and the run markers in the folders written."""

    token: str
    expected: Mapping[str, str] = field(default_factory=dict)
    readable: tuple[str, ...] = ()
    markers: Mapping[str, str] = field(default_factory=dict)  # folder -> marker file name

    def problems_here(self) -> list[str]:
        """What this worker lacks for the run (probed at its first batch, then remembered)."""
        if self.token not in _VERDICTS:
            _VERDICTS[self.token] = probe_here(self.expected, list(self.readable), dict(self.markers))
        return _VERDICTS[self.token]


def open_gate(*, readable: Sequence[str | os.PathLike],
              writable: Sequence[str | os.PathLike]) -> WorkerGate:
    """Write this run's markers into the ``writable`` folders (which exist here); the gate
    that checks them. ``close_gate`` removes them; markers left by a parent that was
    killed (its pid gone) are removed here."""
    token = uuid.uuid4().hex
    markers = {str(Path(f).absolute()): f"{MARKER_PREFIX}{os.getpid()}@{socket.gethostname()}-{token}"
               for f in writable}
    for folder, marker in markers.items():
        _remove_orphans(Path(folder))
        Path(folder, marker).write_text(marker, encoding="ascii")
    return WorkerGate(token=token, expected=library_versions(),
                      readable=tuple(str(Path(p).absolute()) for p in readable), markers=markers)


def close_gate(gate: WorkerGate) -> None:
    """Remove the run's markers."""
    for folder, marker in gate.markers.items():
        with contextlib.suppress(OSError):
            Path(folder, marker).unlink()


def _remove_orphans(folder: Path) -> None:
    """Markers of runs whose parent process, on this machine, no longer lives."""
    for path in folder.glob(f"{MARKER_PREFIX}*"):
        pid, _, host = path.name[len(MARKER_PREFIX):].rsplit("-", 1)[0].partition("@")
        if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
