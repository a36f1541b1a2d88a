"""Step 3's warnings: recordings whose sample rate does not fit the spectrogram's, and ``warnings.json``.

Such a file still gets its spectrogram, so it is no failure, but the spectrogram does
not hold what the settings promise: a rate too low leaves the band (partly) empty; a
rate above the settings' drops what the recording holds above their Nyquist frequency
(ultrasound of a bat recorded at 500 kHz under a 192 kHz preset).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..dsp.spectrogram import SpectrogramConfig
from ..errors import AudioFileError
from ..formats.pool_reader import examples
from ..io.audio_io import open_audio
from ..plans.spectrogram_plan import Job

TOO_LOW = "too_low"
ABOVE = "above"


@dataclass(frozen=True, order=True)
class RateWarning:
    """One file's rate against the settings'; ``kind`` is ``TOO_LOW`` or ``ABOVE``."""

    path: str
    kind: str
    samplerate: int
    warning: str


def rate_warning(path: str, samplerate: int, config: SpectrogramConfig) -> RateWarning | None:
    """What a file at ``samplerate`` Hz misses of ``config``'s band or drops of itself, if anything."""
    nyquist = samplerate / 2
    middle = (config.fmin + config.fmax) / 2
    if nyquist <= config.fmin:
        return RateWarning(path, TOO_LOW, samplerate,
                           f"its rate {samplerate} Hz holds nothing of the band {config.fmin:g}-"
                           f"{config.fmax:g} Hz (Nyquist {nyquist:g} Hz): the spectrogram is empty")
    if nyquist < middle:
        return RateWarning(path, TOO_LOW, samplerate,
                           f"its rate {samplerate} Hz carries less than half of the band "
                           f"{config.fmin:g}-{config.fmax:g} Hz (nothing above {nyquist:g} Hz)")
    if samplerate > config.sample_rate:
        return RateWarning(path, ABOVE, samplerate,
                           f"its rate {samplerate} Hz is above the settings' {config.sample_rate} Hz: "
                           f"what it holds above {config.sample_rate / 2:g} Hz is dropped")
    return None


def summary_lines(warnings: list[RateWarning], config: SpectrogramConfig) -> list[str]:
    """One line per kind and rate, with a few of the files: a pool repeats one rate thousands of times."""
    by: dict[tuple[str, int], list[str]] = defaultdict(list)
    for w in warnings:
        by[(w.kind, w.samplerate)].append(w.path)
    lines = []
    for (kind, rate), paths in sorted(by.items()):
        if kind == TOO_LOW:
            lines.append(f"{len(paths)} file(s) at {rate} Hz cannot carry the band {config.fmin:g}-"
                         f"{config.fmax:g} Hz (Nyquist {rate / 2:g} Hz): {examples(sorted(paths))}")
        else:
            lines.append(f"{len(paths)} file(s) at {rate} Hz, above the settings' {config.sample_rate} Hz: "
                         f"content above {config.sample_rate / 2:g} Hz dropped: {examples(sorted(paths))}")
    return lines


def rate_warnings(jobs: Iterable[Job], failed: Container[str], pool_root: Path,
                  config: SpectrogramConfig) -> list[RateWarning]:
    """The warnings of every file that has its spectrogram, done now or earlier, sorted.

    Read from the headers in the parent (a few microseconds a file), so that a run that
    was interrupted and resumed lists the same warnings as one that was not.
    """
    found = []
    for source in sorted({job.source for job in jobs} - set(failed)):
        try:
            with open_audio(pool_root / source) as f:
                rate = f.samplerate
        except AudioFileError:
            continue
        if (warning := rate_warning(source, rate, config)) is not None:
            found.append(warning)
    return found


def listed(warnings: list[RateWarning]) -> list[dict[str, Any]]:
    """What ``warnings.json`` holds: one object per file, sorted."""
    return [{"path": w.path, "kind": w.kind, "samplerate": w.samplerate, "warning": w.warning}
            for w in sorted(warnings)]
