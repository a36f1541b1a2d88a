"""Step 3's per-file rate warnings, listed in ``warnings.json``: rates that do not fit the settings'.

Such a file still gets its spectrogram, so it is no failure, but the spectrogram does
not hold what the settings promise: a rate too low leaves the band (partly) empty; a
rate above the settings' drops what the recording holds above their Nyquist frequency
when the band reaches it (ultrasound of a bat recorded at 500 kHz under the 192 kHz
preset; ``window_manifest.drops_content``). The rates come from the window manifest,
which covers every file of the output, so a resumed run lists what an uninterrupted
one does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..dsp.spectrogram import SpectrogramConfig
from ..formats.pool_reader import examples
from ..formats.window_manifest import drops_content

TOO_LOW = "too_low"
ABOVE = "above"


@dataclass(frozen=True, order=True, kw_only=True)
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
        return RateWarning(path=path, kind=TOO_LOW, samplerate=samplerate,
                           warning=f"its rate {samplerate} Hz holds nothing of the band {config.fmin:g}-"
                           f"{config.fmax:g} Hz (Nyquist {nyquist:g} Hz): the spectrogram is empty")
    if nyquist < middle:
        return RateWarning(path=path, kind=TOO_LOW, samplerate=samplerate,
                           warning=f"its rate {samplerate} Hz carries less than half of the band "
                                   f"{config.fmin:g}-{config.fmax:g} Hz (nothing above {nyquist:g} Hz)")
    if drops_content(samplerate, sample_rate=config.sample_rate, fmax=config.fmax):
        return RateWarning(path=path, kind=ABOVE, samplerate=samplerate,
                           warning=f"its rate {samplerate} Hz is above the settings' {config.sample_rate} "
                                   f"Hz: what it holds above {config.sample_rate / 2:g} Hz is dropped")
    return None


def summary_lines(warnings: list[RateWarning], config: SpectrogramConfig) -> list[str]:
    """One line per rate that cannot carry the band, with a few of the files (a pool repeats one
    rate thousands of times); the files above the settings' rate have ``above_rate_warning``'s."""
    by: dict[int, list[str]] = defaultdict(list)
    for w in warnings:
        if w.kind == TOO_LOW:
            by[w.samplerate].append(w.path)
    return [f"{len(paths)} file(s) at {rate} Hz cannot carry the band {config.fmin:g}-{config.fmax:g} Hz "
            f"(Nyquist {rate / 2:g} Hz): {examples(sorted(paths))}" for rate, paths in sorted(by.items())]


def rate_warnings(windows: dict[str, dict[str, Any]], config: SpectrogramConfig) -> list[RateWarning]:
    """The warning of every file in the window manifest (one per pool file), sorted."""
    rates = {e["path"]: e["native_samplerate"] for e in windows.values()
             if isinstance(e.get("path"), str) and isinstance(e.get("native_samplerate"), int)}
    found = (rate_warning(path, rate, config) for path, rate in sorted(rates.items()))
    return [w for w in found if w is not None]


def listed(warnings: list[RateWarning]) -> list[dict[str, Any]]:
    """What ``warnings.json`` holds: one object per file, sorted."""
    return [{"path": w.path, "kind": w.kind, "samplerate": w.samplerate, "warning": w.warning}
            for w in sorted(warnings)]
