"""The probe run on the Dask scheduler and every worker before any work: library versions, shared folders,
and the kernels that decide the bits of float outputs.

The parent writes a marker file into each folder the work writes; a worker that does
not see it is on other storage than the parent, and the run would lose its files.
Workers whose kernels compute other bits (another CPU type) are named in a warning: what
they make is within the promise's tolerances of what the others make, not identical.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import platform
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("nightscan.execution")

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
    if warning := kernels_warning(client.run(kernel_profile, on_error="return")):
        log.warning(warning)
    problems = {}
    for who, answer in answers.items():
        if isinstance(answer, BaseException):  # e.g. it cannot import this toolkit
            answer = [f"cannot run the probe ({' '.join(str(answer).split())})"]
        if answer:
            problems[who] = answer
    return problems

def kernel_profile() -> dict[str, str]:
    """What decides the bits of this process's float outputs: numpy's SIMD extensions in use,
    OpenBLAS's kernels, numba's target CPU, and the digest of a spectrogram computed here."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    from threadpoolctl import threadpool_info

    # numpy's and scipy's OpenBLAS pick their kernels alike: a set, whichever are loaded yet
    blas = sorted({str(i.get("architecture")) for i in threadpool_info() if i["internal_api"] == "openblas"})
    return {"numpy": " ".join(f for f in __cpu_dispatch__ if __cpu_features__.get(f)) or "baseline",
            "openblas": " ".join(blas) or "none", "numba": _numba_cpu(),
            "spectrogram": spectrogram_digest()}


def _numba_cpu() -> str:
    from llvmlite import binding
    from numba.core import config

    return config.CPU_NAME or binding.get_host_cpu_name()


def spectrogram_digest() -> str:
    """The sha256 (12 digits) of the general preset's log-mel of a fixed chirp in noise: it
    differs between two processes exactly when their FFT, BLAS or numpy kernels round otherwise.

    Computed as the workers compute (BLAS on one thread: more threads may sum otherwise).
    """
    import numpy as np
    from threadpoolctl import threadpool_limits

    from ..dsp.animals import PRESETS
    from ..dsp.spectrogram import log_mel_spectrogram

    config = PRESETS["general"]
    t = np.arange(config.n_samples) / config.sample_rate
    noise = np.random.default_rng(0).standard_normal(len(t))
    signal = 0.3 * np.sin(2 * np.pi * (500 + 2000 * t) * t) + 0.01 * noise
    with threadpool_limits(1):
        spec = log_mel_spectrogram(signal.astype(np.float32), config)
    return hashlib.sha256(spec.tobytes()).hexdigest()[:12]


def kernels_warning(profiles: Mapping[str, Any]) -> str | None:
    """One warning line naming the workers whose float kernels differ, or None when all agree
    (answers that are errors are left to the other checks)."""
    groups: dict[tuple, list[str]] = {}
    for worker, profile in sorted(profiles.items()):
        if isinstance(profile, dict):
            groups.setdefault(tuple(sorted(profile.items())), []).append(worker)
    if len(groups) < 2:
        return None
    kinds = "; ".join(f"{', '.join(workers)}: numpy {p['numpy']}, OpenBLAS {p['openblas']}, numba "
                      f"{p['numba']}, spectrogram {p['spectrogram']}"
                      for workers, p in ((w, dict(k)) for k, w in groups.items()))
    return (f"the Dask workers compute floats with {len(groups)} different sets of kernels ({kinds}): "
            "augmented audio and spectrograms made on one may differ from those made on another within "
            "the stated tolerances (a step of 16-bit audio, about 1e-3 of a spectrogram value), so a "
            "rerun may not give identical bytes; what is decided (originals, types, parameters, names, "
            "groups, splits, index rows) is identical. Use workers of one CPU type for identical bytes")


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
