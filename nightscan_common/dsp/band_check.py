"""Does each class hear its own band? The share of a class's energy inside the settings' band.

Step 3 measures, for every file, the share of its window's energy (at the native rate)
that lies within the band ``fmin``-``fmax`` and the frequency below which half of it
lies (``io/audio_window.band_share``, kept in ``windows.json``). Per class, this module
averages them and, when a class keeps less than ``LOST_SHARE`` of its energy, says so
with the figure and a preset whose band holds the class's median frequency: a bat class
at 192-500 kHz under the general preset (50-11,000 Hz) keeps a few percent and is
otherwise turned into hum and noise without a word. Step 3 and the report say the same.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .animals import PRESETS
from .spectrogram import SpectrogramConfig

#: Below this share of its energy inside the band, a class is warned about.
LOST_SHARE = 0.5


@dataclass(frozen=True, kw_only=True)
class ClassBand:
    """One class's energy against the band: files measured, their rates, mean share, median Hz."""

    name: str
    files: int
    min_rate: int
    max_rate: int
    share: float
    median_hz: float
    warning: str = ""


def _khz(rate: float) -> str:
    return f"{rate / 1000:g}"


def _rates(lo: int, hi: int) -> str:
    return f"{_khz(lo)} kHz" if lo == hi else f"{_khz(lo)}-{_khz(hi)} kHz"


def remedy(median_hz: float, *, current: str | None, nyquist: float | None = None) -> str:
    """A preset whose band holds ``median_hz`` (not ``current``; one whose band the files'
    ``nyquist`` frequency reaches first), or what to raise."""
    holding = [(name, c) for name, c in PRESETS.items() if name != current and c.fmin <= median_hz <= c.fmax]
    holding.sort(key=lambda nc: nyquist is not None and nc[1].fmax > nyquist)  # stable: registry order
    if holding:
        name, c = holding[0]
        return f"use --animal-type {name} ({c.fmin:,.0f}-{c.fmax:,.0f} Hz)"
    return f"raise --sample-rate above {2 * median_hz:,.0f} Hz and --fmax above {median_hz:,.0f} Hz"


def class_bands(windows: Mapping[str, Mapping[str, Any]], config: SpectrogramConfig, *,
                preset: str | None) -> list[ClassBand]:
    """Per class (the first part of each entry's ``path``), by name; files with no share are left out."""
    by: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for entry in windows.values():
        path, share = entry.get("path"), entry.get("band_share")
        if isinstance(path, str) and "/" in path and isinstance(share, int | float):
            by[path.split("/", 1)[0]].append(entry)
    name = f"the {preset} preset" if preset else "these settings"
    out = []
    for cls, entries in sorted(by.items()):
        rates = [int(e.get("native_samplerate") or 0) for e in entries]
        share = round(statistics.fmean(float(e["band_share"]) for e in entries), 4)
        median = round(statistics.median(float(e.get("median_hz") or 0.0) for e in entries), 1)
        warning = ""
        if share < LOST_SHARE:
            warning = (f"{cls}: {len(entries)} files at {_rates(min(rates), max(rates))}; {name} keeps "
                       f"{config.fmin:,.0f}-{config.fmax:,.0f} Hz, where {share:.0%} of their energy is "
                       f"(half of it lies below {median:,.0f} Hz); "
                       f"{remedy(median, current=preset, nyquist=min(rates) / 2)}")
        out.append(ClassBand(name=cls, files=len(entries), min_rate=min(rates), max_rate=max(rates),
                             share=share, median_hz=median, warning=warning))
    return out


def band_warnings(bands: list[ClassBand]) -> list[str]:
    """The warning of each class that loses most of its energy, one line each."""
    return [b.warning for b in bands if b.warning]
