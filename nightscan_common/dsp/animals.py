"""The animal types: one entry each, with its augmentation ranges (step 1) and its spectrogram
preset (step 3); ``--animal-type`` of both steps names an entry.

An entry's ranges give the time-stretch rates (of ``time_stretch`` and of ``combined``'s
light stretch), the pitch shift in semitones (None: never), the default types, and the
reason and source of its bounds; its preset is a ``SpectrogramConfig``. The manual's
tables are made from ``ANIMALS``: ``ranges_table_markdown`` (docs/step1-pool.md),
``presets_table_markdown`` (docs/step3-spectrograms.md).
"""

from __future__ import annotations

import types
from dataclasses import dataclass

from .spectrogram import SpectrogramConfig


@dataclass(frozen=True, kw_only=True)
class AnimalRanges:
    """The ranges of one animal type; rates are playback-speed factors (1.0 = unchanged)."""

    stretch: tuple[float, float]  # time_stretch
    light_stretch: tuple[float, float]  # combined's stretch
    pitch: tuple[float, float] | None  # pitch_shift, semitones; None: this animal never gets one
    types: tuple[str, ...]  # the default --augmentations for this animal
    reason: str
    source: str


@dataclass(frozen=True)
class Animal:
    """One ``--animal-type``: what step 1 may change without changing the species, and how
    step 3 sees it."""

    name: str
    ranges: AnimalRanges
    preset: SpectrogramConfig


#: batdetect2 (Mac Aodha et al., 2022) and BirdSet (Rauch et al., 2024) are the sources quoted.
_BATDETECT2 = "batdetect2 training defaults: no pitch shift, time warp ±4 %"
_MODERATE_SOURCE = ("half of general's stretch and pitch (this toolkit's choice); BirdSet's noise and "
                    "gain defaults are the opt-in types background_noise, color_noise, gain_wide")
_TODAY = "the toolkit's ranges before per-animal ranges (the seed's workflow)"
_BASE_TYPES = ("time_stretch", "noise", "volume", "combined")
_GENERAL = AnimalRanges(stretch=(0.8, 1.25), light_stretch=(0.9, 1.1), pitch=(-2.0, 2.0), types=_BASE_TYPES,
                        reason="no animal-specific feature assumed", source=_TODAY)
_FEW_PERCENT = AnimalRanges(
    stretch=(0.96, 1.04), light_stretch=(0.98, 1.02), pitch=None, types=_BASE_TYPES,
    reason="peak frequency and call duration tell bat species apart: no pitch shift, a few percent "
           "of stretch",
    source=_BATDETECT2)
_MODERATE = AnimalRanges(
    stretch=(0.9, 1.1), light_stretch=(0.95, 1.05), pitch=(-1.0, 1.0), types=(*_BASE_TYPES, "pitch_shift"),
    reason="pitch varies between individuals, but a large shift moves a call into another species' range",
    source=_MODERATE_SOURCE)
_AMPHIBIAN = AnimalRanges(
    stretch=_FEW_PERCENT.stretch, light_stretch=_FEW_PERCENT.light_stretch, pitch=None, types=_BASE_TYPES,
    reason="pulse rate and dominant frequency tell frog species apart: no pitch shift, a few percent "
           "of stretch", source=_BATDETECT2 + " (the same bound)")
_INSECT = AnimalRanges(
    stretch=_FEW_PERCENT.stretch, light_stretch=_FEW_PERCENT.light_stretch, pitch=None, types=_BASE_TYPES,
    reason="pulse rate and carrier frequency tell cricket and katydid species apart: no pitch shift, "
           "a few percent of stretch", source=_BATDETECT2 + " (the same bound)")

_GENERAL_PRESET = SpectrogramConfig()
_BAT_BAND = {"sample_rate": 192000, "fmin": 15000.0, "fmax": 96000.0}

#: Named settings per animal group (NightScan's spectrogram_config); all but ``bat_fm``
#: share n_fft 2048, hop 512, 8 s and top_db 80. ``bat`` stops at 96 kHz, the Nyquist
#: frequency of 192 kHz (NightScan's 100 kHz lies above it); its 10.7 ms window turns a
#: 1 to 5 ms FM sweep into a vertical bar. ``bat_fm`` keeps the sweep's shape: a 2 ms
#: window (n_fft 384), a 0.5 ms hop, 96 mels (more would leave bands without an FFT
#: bin at this n_fft) and 2 s, a bat pass, in an array no larger than ``bat``'s.
ANIMALS: dict[str, Animal] = {a.name: a for a in (
    Animal("general", _GENERAL, _GENERAL_PRESET),
    Animal("bat", _FEW_PERCENT, _GENERAL_PRESET.replace(**_BAT_BAND, n_mels=256)),
    Animal("bat_fm", _FEW_PERCENT, _GENERAL_PRESET.replace(**_BAT_BAND, n_mels=96, n_fft=384, hop_length=96,
                                                           duration=2.0)),
    Animal("owl", _MODERATE, _GENERAL_PRESET.replace(sample_rate=16000, fmin=200.0, fmax=4000.0)),
    Animal("bird_song", _MODERATE, _GENERAL_PRESET.replace(sample_rate=22050, fmin=1000.0, fmax=8000.0)),
    Animal("mammal", _GENERAL, _GENERAL_PRESET.replace(sample_rate=22050, fmin=100.0, fmax=5000.0)),
    Animal("amphibian", _AMPHIBIAN, _GENERAL_PRESET.replace(sample_rate=16000, fmin=200.0, fmax=5000.0)),
    Animal("insect", _INSECT, _GENERAL_PRESET.replace(sample_rate=44100, fmin=2000.0, fmax=15000.0)),
)}
DEFAULT_ANIMAL = DEFAULT_PRESET = "general"
#: Views of ``ANIMALS`` by what each step reads.
ANIMAL_RANGES: types.MappingProxyType[str, AnimalRanges] = types.MappingProxyType(
    {name: a.ranges for name, a in ANIMALS.items()})
PRESETS: types.MappingProxyType[str, SpectrogramConfig] = types.MappingProxyType(
    {name: a.preset for name, a in ANIMALS.items()})


def _rate(lo_hi: tuple[float, float]) -> str:
    return f"{lo_hi[0]:g} to {lo_hi[1]:g}"


def ranges_table_markdown() -> str:
    """docs/step1-pool.md's table of augmentation ranges per animal type, made from ``ANIMALS``."""
    lines = ["| `--animal-type` | `time_stretch` | `combined` stretch | `pitch_shift` | default types "
             "| why | source |", "|---|---|---|---|---|---|---|"]
    for name, a in ANIMALS.items():
        r = a.ranges
        pitch = "never" if r.pitch is None else f"{r.pitch[0]:+g} to {r.pitch[1]:+g} semitones"
        lines.append(f"| {name} | {_rate(r.stretch)} | {_rate(r.light_stretch)} | {pitch} | "
                     f"{','.join(r.types)} | {r.reason} | {r.source} |")
    return "\n".join(lines)


def _ms(samples: int, rate: int) -> str:
    return f"{1000 * samples / rate:.3g} ms"


def presets_table_markdown() -> str:
    """docs/step3-spectrograms.md's table of spectrogram presets per animal type, made from ``ANIMALS``."""
    lines = ["| `--animal-type` | sample rate | band (Hz) | mels | n_fft (window) | hop | duration | shape |",
             "|---|---|---|---|---|---|---|---|"]
    for name, a in ANIMALS.items():
        c = a.preset
        lines.append(f"| {name} | {c.sample_rate} | {c.fmin:g}-{c.fmax:g} | {c.n_mels} | "
                     f"{c.n_fft} ({_ms(c.n_fft, c.sample_rate)}) | {c.hop_length} "
                     f"({_ms(c.hop_length, c.sample_rate)}) | {c.duration:g} s | "
                     f"{' x '.join(map(str, c.shape))} |")
    return "\n".join(lines)
