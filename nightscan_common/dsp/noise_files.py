"""The check of a background-noise folder, done once before any work: usable files and bad ones.

Each file is decoded whole once (``probe_audio``), so that a corrupt, empty, silent or
mislabelled noise file is named up front, not found in the middle of an original's
augmentation, where its error used to be blamed on the original.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import AudioFileError, UsageError
from ..io.audio_formats import name_problem
from ..io.audio_io import probe_audio
from .audit import MIN_DURATION_S, MIN_PEAK_DBFS, dbfs

#: The highest rate of common field recorders (384 kHz); a noise file above it is most
#: often a wrong header, and every augmentation would resample all of it.
MAX_NOISE_SAMPLERATE = 384_000


@dataclass(frozen=True)
class BadNoiseFile:
    path: str  # relative to the noise folder, "/"-separated
    reason: str


@dataclass(frozen=True)
class NoiseFolderCheck:
    """What the check of one noise folder found; paths relative to ``folder``, sorted."""

    folder: str
    usable: tuple[str, ...]
    bad: tuple[BadNoiseFile, ...]

    def usable_paths(self) -> list[str]:
        """Full paths of the usable files, for ``AddBackgroundNoise(sounds_path=...)``."""
        return [os.path.join(self.folder, *rel.split("/")) for rel in self.usable]

    def require_usable(self) -> None:
        """Raise ``UsageError`` (exit 2, before anything is written) if no file is usable."""
        if not self.usable:
            found = "; ".join(f"{b.path}: {b.reason}" for b in self.bad[:5]) or "it holds no file"
            raise UsageError(f"--background-noise-dir {self.folder} has no usable noise file ({found})")


def _walk(folder: Path) -> list[str]:
    """Every visible file below ``folder``, relative and "/"-separated, sorted."""
    found = []
    for directory, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(directory, folder)
        for name in files:
            if not name.startswith("."):
                found.append(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"))
    return sorted(found)


def noise_file_problem(path: str | os.PathLike, *, max_samplerate: int = MAX_NOISE_SAMPLERATE,
                       min_peak_dbfs: float = MIN_PEAK_DBFS,
                       min_duration: float = MIN_DURATION_S) -> str | None:
    """Why one noise file cannot be mixed in, or ``None`` if it can."""
    if reason := name_problem(os.path.basename(path)):
        return reason
    try:
        probe = probe_audio(path)
    except AudioFileError as exc:
        return exc.reason
    if probe.samplerate > max_samplerate:
        return f"sample rate {probe.samplerate} Hz is above {max_samplerate} Hz"
    peak = dbfs(probe.peak)
    if peak is None:
        return "digital silence: mixing it in would change nothing"
    if peak < min_peak_dbfs:
        return f"near-silent: peak {peak:.1f} dBFS is below {min_peak_dbfs:g} dBFS"
    if probe.duration < min_duration:
        return f"too short: {probe.duration:.3f} s is below {min_duration:g} s"
    return None


def check_noise_folder(folder: str | os.PathLike, *, max_samplerate: int = MAX_NOISE_SAMPLERATE,
                       min_peak_dbfs: float = MIN_PEAK_DBFS,
                       min_duration: float = MIN_DURATION_S) -> NoiseFolderCheck:
    """Check every file below ``folder``; ``UsageError`` if the folder cannot be read."""
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"--background-noise-dir {folder} is not a folder")
    usable, bad = [], []
    for rel in _walk(root):
        problem = noise_file_problem(root / rel, max_samplerate=max_samplerate,
                                     min_peak_dbfs=min_peak_dbfs, min_duration=min_duration)
        if problem is None:
            usable.append(rel)
        else:
            bad.append(BadNoiseFile(rel, problem))
    return NoiseFolderCheck(str(folder), tuple(usable), tuple(bad))
