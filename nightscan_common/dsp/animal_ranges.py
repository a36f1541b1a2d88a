"""Augmentation ranges per animal type: what each may change without changing the species.

One table, ``ANIMAL_RANGES``, keyed by the names of step 3's presets; step 1's
``--animal-type`` picks a row. A row gives the time-stretch rates (of ``time_stretch``
and of ``combined``'s light stretch), the pitch shift in semitones (None: never), the
default types, and the reason and source of its bounds. The README's table is checked
against this one (``ranges_table_markdown``).
"""

from __future__ import annotations

from dataclasses import dataclass

#: batdetect2 (Mac Aodha et al., 2022) and BirdSet (Rauch et al., 2024) are the sources quoted.
_BATDETECT2 = "batdetect2 training defaults: no pitch shift, time warp ±4 %"
_MODERATE_SOURCE = ("half of general's stretch and pitch (this toolkit's choice); BirdSet's noise and "
                    "gain defaults are the opt-in types background_noise, color_noise, gain_wide")
_TODAY = "the toolkit's ranges before per-animal ranges (the seed's workflow)"


@dataclass(frozen=True)
class AnimalRanges:
    """The ranges of one animal type; rates are playback-speed factors (1.0 = unchanged)."""

    stretch: tuple[float, float]  # time_stretch
    light_stretch: tuple[float, float]  # combined's stretch
    pitch: tuple[float, float] | None  # pitch_shift, semitones; None: this animal never gets one
    types: tuple[str, ...]  # the default --augmentations for this animal
    reason: str
    source: str


_BASE_TYPES = ("time_stretch", "noise", "volume", "combined")
_GENERAL = AnimalRanges((0.8, 1.25), (0.9, 1.1), (-2.0, 2.0), _BASE_TYPES,
                        "no animal-specific feature assumed", _TODAY)
_FEW_PERCENT = AnimalRanges(
    (0.96, 1.04), (0.98, 1.02), None, _BASE_TYPES,
    "peak frequency and call duration tell bat species apart: no pitch shift, a few percent of stretch",
    _BATDETECT2)
_MODERATE = AnimalRanges(
    (0.9, 1.1), (0.95, 1.05), (-1.0, 1.0), (*_BASE_TYPES, "pitch_shift"),
    "pitch varies between individuals, but a large shift moves a call into another species' range",
    _MODERATE_SOURCE)

ANIMAL_RANGES: dict[str, AnimalRanges] = {
    "general": _GENERAL,
    "bat": _FEW_PERCENT,
    "bat_fm": _FEW_PERCENT,
    "owl": _MODERATE,
    "bird_song": _MODERATE,
    "mammal": _GENERAL,
    "amphibian": AnimalRanges(
        _FEW_PERCENT.stretch, _FEW_PERCENT.light_stretch, None, _BASE_TYPES,
        "pulse rate and dominant frequency tell frog species apart: no pitch shift, a few percent "
        "of stretch", _BATDETECT2 + " (the same bound)"),
    "insect": AnimalRanges(
        _FEW_PERCENT.stretch, _FEW_PERCENT.light_stretch, None, _BASE_TYPES,
        "pulse rate and carrier frequency tell cricket and katydid species apart: no pitch shift, "
        "a few percent of stretch", _BATDETECT2 + " (the same bound)"),
}
DEFAULT_ANIMAL = "general"


def _rate(lo_hi: tuple[float, float]) -> str:
    return f"{lo_hi[0]:g} to {lo_hi[1]:g}"


def ranges_table_markdown() -> str:
    """The README's table of ranges per animal type, made from ``ANIMAL_RANGES``."""
    lines = ["| `--animal-type` | `time_stretch` | `combined` stretch | `pitch_shift` | default types "
             "| why | source |", "|---|---|---|---|---|---|---|"]
    for name, r in ANIMAL_RANGES.items():
        pitch = "never" if r.pitch is None else f"{r.pitch[0]:+g} to {r.pitch[1]:+g} semitones"
        lines.append(f"| {name} | {_rate(r.stretch)} | {_rate(r.light_stretch)} | {pitch} | "
                     f"{','.join(r.types)} | {r.reason} | {r.source} |")
    return "\n".join(lines)
