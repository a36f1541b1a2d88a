"""The probe run on the Dask scheduler and every worker before any work: library versions, shared folders.

The parent writes a marker file into each folder the work writes; a worker that does
not see it is on other storage than the parent, and the run would lose its files.
"""

from __future__ import annotations

import importlib
import os
import platform
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: The libraries whose versions must equal the parent's on every worker (the toolkit last).
CHECKED_LIBRARIES = ("numpy", "librosa", "soundfile", "audiomentations", "nightscan_common")


def probe_cluster(client: Any, *, readable: Sequence[str | Path],
                  writable: Sequence[str | Path]) -> dict[str, list[str]]:
    """``"Dask worker ADDRESS"`` (or the scheduler) -> what it lacks, as short phrases, for
    those that lack something, the scheduler first.

    The scheduler unpickles the tasks, so it needs the same libraries, not the folders.
    ``writable`` folders must exist here; their markers are removed before returning.
    """
    expected = library_versions()
    try:
        answers = {f"Dask scheduler {client.scheduler.address}":
                   client.run_on_scheduler(probe_here, expected, [], {})}
    except Exception as exc:  # e.g. it cannot import this toolkit
        answers = {f"Dask scheduler {client.scheduler.address}": exc}
    markers = {str(Path(f).absolute()): f".nightscan-probe-{uuid.uuid4().hex}" for f in writable}
    try:
        for folder, marker in markers.items():
            Path(folder, marker).write_text(marker, encoding="ascii")
        on_workers = client.run(probe_here, expected,
                                [str(Path(p).absolute()) for p in readable], markers,
                                on_error="return")
        answers.update((f"Dask worker {w}", a) for w, a in sorted(on_workers.items()))
    finally:
        for folder, marker in markers.items():
            Path(folder, marker).unlink(missing_ok=True)
    problems = {}
    for who, answer in answers.items():
        if isinstance(answer, BaseException):  # e.g. it cannot import this toolkit
            answer = [f"cannot run the probe ({' '.join(str(answer).split())})"]
        if answer:
            problems[who] = answer
    return problems

def library_versions() -> dict[str, str]:
    """This process's Python and checked library versions ("missing" for one not installed)."""
    versions = {"python": platform.python_version()}
    for name in CHECKED_LIBRARIES:
        try:
            versions[name] = str(getattr(importlib.import_module(name), "__version__", "unknown"))
        except ImportError:
            versions[name] = "missing"
    return versions


def probe_here(expected: Mapping[str, str], readable: Sequence[str],
                 markers: Mapping[str, str]) -> list[str]:
    """What this worker lacks, as short phrases; empty when it can do the work.

    ``expected`` holds the parent's library versions; ``readable`` the folders the work
    reads; ``markers`` maps each folder the work writes to a file the parent has just
    written there and that file's content, which this worker must see (shared storage).
    """
    problems = []
    for name, version in library_versions().items():
        if name in expected and version != expected[name]:
            if version == "missing":
                problems.append(f"lacks {name} {expected[name]}")
            else:
                problems.append(f"has {name} {version}, not {expected[name]} as the parent")
    for path in readable:
        if not os.path.isdir(path):
            problems.append(f"lacks {path} (no such folder there)")
        elif not os.access(path, os.R_OK | os.X_OK):
            problems.append(f"cannot read {path}")
    for folder, marker in markers.items():
        marker_path = os.path.join(folder, marker)
        if not os.path.isdir(folder):
            problems.append(f"lacks {folder} (no such folder there)")
        elif not _holds(marker_path, marker):
            problems.append(f"does not see the parent's {folder} (not the same shared storage)")
        elif not os.access(folder, os.W_OK | os.X_OK):
            problems.append(f"cannot write to {folder}")
    return problems


def _holds(path: str, content: str) -> bool:
    try:
        with open(path, encoding="ascii") as f:
            return f.read() == content
    except (OSError, UnicodeDecodeError):
        return False
