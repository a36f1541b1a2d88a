"""The pool's augmentation types: audiomentations transforms, their ranges, what is recorded.

audiomentations has no seed argument: it draws parameters from Python's ``random`` and
noise from ``np.random``. ``apply_augmentation`` seeds both right before each file's
transforms, so a file's randomness depends on its own seed only. The parameters that
the transforms drew are read back and turned into units a user reads (the stretch
rate, the gain in dB, the SNR in dB), which the library does not store.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from ..errors import NoiseFileError, UsageError
from ..seeds import seed_global_rngs
from .animal_ranges import ANIMAL_RANGES, DEFAULT_ANIMAL, AnimalRanges

# Ranges, one place each; --help and the README quote them from here. The stretch and
# pitch ranges of the general animal type; other types take theirs from ANIMAL_RANGES.
TIME_STRETCH_RATE = ANIMAL_RANGES[DEFAULT_ANIMAL].stretch
NOISE_SNR_DB = (10.0, 30.0)
VOLUME_GAIN_DB = (-6.0, 0.0)
COMBINED_RATE = ANIMAL_RANGES[DEFAULT_ANIMAL].light_stretch
COMBINED_SNR_DB = (20.0, 40.0)
COMBINED_GAIN_DB = (-6.0, 0.0)
PITCH_SEMITONES = ANIMAL_RANGES[DEFAULT_ANIMAL].pitch
SHIFT_FRACTION = (-0.25, 0.25)
BACKGROUND_SNR_DB = (3.0, 30.0)
#: BirdSet's gain range, wider than ``volume``'s; a boost that would clip is guarded.
WIDE_GAIN_DB = (-18.0, 6.0)
COLOR_NOISE_SNR_DB = (10.0, 30.0)
#: Spectral slope of the coloured noise, dB per octave (-6 brown ... 0 white ... +6 violet).
COLOR_NOISE_DECAY_DB = (-6.0, 6.0)
SHORT_NOISE_SNR_DB = (0.0, 18.0)
#: Seconds between two short noises: a clip of 3 s or more always gets one (the first comes
#: within the largest gap of the start).
SHORT_NOISE_GAP_S = (0.5, 3.0)
AIR_DISTANCE_M = (10.0, 100.0)
#: AirAbsorption damps octave bands up to 32 kHz: worth it only for presets of 32 kHz and more.
AIR_MIN_SAMPLE_RATE = 32000
#: librosa's phase vocoder measured faster than signalsmith for 8 s clips here.
STRETCH_METHOD = "librosa_phase_vocoder"


@dataclass(frozen=True)
class AugmentationType:
    """One name of ``--augmentations``: what it does and which transforms it chains."""

    name: str
    summary: str
    steps: tuple[str, ...]  # keys of _STEP_BUILDERS, applied in this order
    default: bool = True


AUGMENTATION_TYPES: dict[str, AugmentationType] = {
    t.name: t
    for t in (
        AugmentationType("time_stretch", f"TimeStretch, rate {TIME_STRETCH_RATE[0]} to "
                         f"{TIME_STRETCH_RATE[1]}, pitch kept, length not kept", ("stretch",)),
        AugmentationType("noise", f"AddGaussianSNR, SNR {NOISE_SNR_DB[0]:g} to {NOISE_SNR_DB[1]:g} dB",
                         ("noise",)),
        AugmentationType("volume", f"Gain, {VOLUME_GAIN_DB[0]:g} to {VOLUME_GAIN_DB[1]:g} dB", ("gain",)),
        AugmentationType("combined", f"TimeStretch {COMBINED_RATE[0]} to {COMBINED_RATE[1]}, then "
                         f"AddGaussianSNR {COMBINED_SNR_DB[0]:g} to {COMBINED_SNR_DB[1]:g} dB, then Gain "
                         f"{COMBINED_GAIN_DB[0]:g} to {COMBINED_GAIN_DB[1]:g} dB",
                         ("light_stretch", "light_noise", "light_gain")),
        AugmentationType("pitch_shift", f"PitchShift, {PITCH_SEMITONES[0]:g} to {PITCH_SEMITONES[1]:g} "
                         "semitones", ("pitch",), default=False),
        AugmentationType("shift", f"Shift in time with rollover, {SHIFT_FRACTION[0]:g} to "
                         f"{SHIFT_FRACTION[1]:g} of the length", ("shift",), default=False),
        AugmentationType("background_noise", "AddBackgroundNoise from --background-noise-dir or "
                         f"--background-noise-class, SNR {BACKGROUND_SNR_DB[0]:g} to "
                         f"{BACKGROUND_SNR_DB[1]:g} dB", ("background",), default=False),
        AugmentationType("color_noise", f"AddColorNoise, SNR {COLOR_NOISE_SNR_DB[0]:g} to "
                         f"{COLOR_NOISE_SNR_DB[1]:g} dB, slope {COLOR_NOISE_DECAY_DB[0]:g} to "
                         f"{COLOR_NOISE_DECAY_DB[1]:+g} dB per octave", ("color_noise",), default=False),
        AugmentationType("short_noises", "AddShortNoises from --short-noise-dir (rain drops, insect "
                         f"bursts, a plane), SNR {SHORT_NOISE_SNR_DB[0]:g} to {SHORT_NOISE_SNR_DB[1]:g} "
                         f"dB, every {SHORT_NOISE_GAP_S[0]:g} to {SHORT_NOISE_GAP_S[1]:g} s",
                         ("short_noises",), default=False),
        AugmentationType("gain_wide", f"Gain, {WIDE_GAIN_DB[0]:g} to {WIDE_GAIN_DB[1]:+g} dB (BirdSet's "
                         "range)", ("gain_wide",), default=False),
        AugmentationType("air_absorption", f"AirAbsorption, a source {AIR_DISTANCE_M[0]:g} to "
                         f"{AIR_DISTANCE_M[1]:g} m away (animal types of {AIR_MIN_SAMPLE_RATE // 1000} "
                         "kHz and more)", ("air",), default=False),
    )
}
DEFAULT_AUGMENTATIONS: tuple[str, ...] = tuple(n for n, t in AUGMENTATION_TYPES.items() if t.default)
#: Types that run librosa's numba-compiled phase vocoder (warm it up before forking).
NEEDS_NUMBA = frozenset({"time_stretch", "combined", "pitch_shift"})
#: Types that read a folder of noise recordings, and the option that names it.
NOISE_FOLDER_OPTION = {"background_noise": "--background-noise-dir", "short_noises": "--short-noise-dir"}


def parse_augmentation_list(text: str) -> tuple[str, ...]:
    """``"noise, volume"`` -> ``("noise", "volume")``; ``UsageError`` names an unknown type."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise UsageError("--augmentations is empty; give one or more of " + ", ".join(AUGMENTATION_TYPES))
    for name in names:
        if name not in AUGMENTATION_TYPES:
            raise UsageError(f"unknown augmentation {name!r}; choose from " + ", ".join(AUGMENTATION_TYPES))
    if len(set(names)) != len(names):
        raise UsageError(f"--augmentations names a type twice: {text!r}")
    return names


def _lib() -> ModuleType:
    """audiomentations, imported on first use: only a process that augments pays for it
    (about 1.2 s of CPU, most of it scipy.signal)."""
    import audiomentations
    import audiomentations.core.utils

    return audiomentations


def _stretch(lo_hi: tuple[float, float]) -> Any:
    return _lib().TimeStretch(min_rate=lo_hi[0], max_rate=lo_hi[1], leave_length_unchanged=False,
                              method=STRETCH_METHOD, p=1.0)


_STEP_BUILDERS: dict[str, Callable[[AnimalRanges, str | None], Any]] = {
    "stretch": lambda r, _dir: _stretch(r.stretch),
    "light_stretch": lambda r, _dir: _stretch(r.light_stretch),
    "noise": lambda _r, _dir: _lib().AddGaussianSNR(min_snr_db=NOISE_SNR_DB[0], max_snr_db=NOISE_SNR_DB[1],
                                                    p=1.0),
    "light_noise": lambda _r, _dir: _lib().AddGaussianSNR(min_snr_db=COMBINED_SNR_DB[0],
                                                          max_snr_db=COMBINED_SNR_DB[1], p=1.0),
    "gain": lambda _r, _dir: _lib().Gain(min_gain_db=VOLUME_GAIN_DB[0], max_gain_db=VOLUME_GAIN_DB[1], p=1.0),
    "light_gain": lambda _r, _dir: _lib().Gain(min_gain_db=COMBINED_GAIN_DB[0],
                                               max_gain_db=COMBINED_GAIN_DB[1], p=1.0),
    "gain_wide": lambda _r, _dir: _lib().Gain(min_gain_db=WIDE_GAIN_DB[0], max_gain_db=WIDE_GAIN_DB[1],
                                              p=1.0),
    "pitch": lambda r, _dir: _lib().PitchShift(min_semitones=(r.pitch or PITCH_SEMITONES)[0],
                                               max_semitones=(r.pitch or PITCH_SEMITONES)[1],
                                               method=STRETCH_METHOD, p=1.0),
    "shift": lambda _r, _dir: _lib().Shift(min_shift=SHIFT_FRACTION[0], max_shift=SHIFT_FRACTION[1],
                                           shift_unit="fraction", rollover=True, p=1.0),
    "background": lambda _r, bg: _lib().AddBackgroundNoise(sounds_path=bg, min_snr_db=BACKGROUND_SNR_DB[0],
                                                           max_snr_db=BACKGROUND_SNR_DB[1], p=1.0),
    "color_noise": lambda _r, _dir: _lib().AddColorNoise(min_snr_db=COLOR_NOISE_SNR_DB[0],
                                                         max_snr_db=COLOR_NOISE_SNR_DB[1],
                                                         min_f_decay=COLOR_NOISE_DECAY_DB[0],
                                                         max_f_decay=COLOR_NOISE_DECAY_DB[1], p=1.0),
    "short_noises": lambda _r, folder: _lib().AddShortNoises(
        sounds_path=folder, min_snr_db=SHORT_NOISE_SNR_DB[0], max_snr_db=SHORT_NOISE_SNR_DB[1],
        min_time_between_sounds=SHORT_NOISE_GAP_S[0], max_time_between_sounds=SHORT_NOISE_GAP_S[1],
        noise_rms="relative_to_whole_input", p=1.0, lru_cache_size=8),
    "air": lambda _r, _dir: _lib().AirAbsorption(min_distance=AIR_DISTANCE_M[0],
                                                 max_distance=AIR_DISTANCE_M[1], p=1.0),
}
#: The step whose transform reads ``noise_dir``.
_FOLDER_STEPS = {"background": "background_noise", "short_noises": "short_noises"}


@cache
def _transform(step: str, animal: str, noise_dir: str | None, noise_files: tuple[str, ...] = ()) -> Any:
    """One transform object per step, animal type and worker (noise folders scanned once).

    ``noise_files`` (relative to ``noise_dir``), when given, are the only background noise
    files drawn from: those that passed the up-front check, whatever their extension.
    """
    if step in _FOLDER_STEPS and not noise_dir:
        name = _FOLDER_STEPS[step]
        raise UsageError(f"{name} needs {NOISE_FOLDER_OPTION[name]}")
    transform = _STEP_BUILDERS[step](ANIMAL_RANGES[animal], noise_dir)
    if step == "background" and noise_files:
        transform.sound_file_paths = [Path(noise_dir, *rel.split("/")) for rel in noise_files]
    return transform


def _db(ratio: float) -> float:
    return 20.0 * math.log10(ratio)


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _snr_db(clean: np.ndarray, noise_rms: float) -> float | None:
    clean_rms = float(_lib().core.utils.calculate_rms(clean))
    return _db(clean_rms / noise_rms) if clean_rms > 0 and noise_rms > 0 else None


def _record(step: str, transform: Any, before: np.ndarray, sr: int,
            noise_root: str | None) -> dict[str, Any]:
    """The parameters one transform applied, in the units the metadata records.

    Noise files are recorded relative to ``noise_root`` (the noise folder, or the audio
    root for ``--background-noise-class``).
    """
    p = transform.parameters
    if step in ("noise", "light_noise", "background") and not np.any(before):
        return {"no_effect": "the input is silent: noise relative to its level is none"}
    if step in ("stretch", "light_stretch"):
        return {"rate": p["rate"]}
    if step in ("gain", "light_gain", "gain_wide"):
        return {"gain_db": _db(p["amplitude_ratio"])}
    if step in ("noise", "light_noise"):
        # AddGaussianSNR keeps only noise_std = clean_rms / 10**(snr/20): invert it.
        return {"snr_db": _snr_db(before, p["noise_std"]), "noise_std": p["noise_std"]}
    if step == "color_noise":  # AddColorNoise keeps the noise's RMS, not the SNR it drew
        return {"snr_db": _snr_db(before, p["desired_noise_rms"]), "f_decay_db": p["f_decay"]}
    if step == "pitch":
        return {"semitones": p["num_semitones"]}
    if step == "shift":
        return {"shift_fraction": p["shift_amount"],
                "shift_seconds": round(p["shift_amount"] * len(before)) / sr}
    if step == "background":
        return {"snr_db": p["snr_db"], "offset_seconds": p["offset"],
                "noise_file": _rel(p["noise_file_path"], noise_root)}
    if step == "short_noises":
        return {"short_noises": [{"noise_file": _rel(n["file_path"], noise_root), "start_seconds": n["start"],
                                  "end_seconds": n["end"], "snr_db": n["snr_db"]} for n in p["sounds"]]}
    if step == "air":
        return {"distance_m": p["distance"], "temperature_c": p["temperature"], "humidity": p["humidity"]}
    raise KeyError(step)


def apply_augmentation(name: str, samples: np.ndarray, samplerate: int, *, seed: int,
                       animal: str = DEFAULT_ANIMAL, background_dir: str | None = None,
                       short_noise_dir: str | None = None, noise_root: str | None = None,
                       background_files: tuple[str, ...] = ()) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply augmentation type ``name`` to a mono float32 signal, reproducibly.

    Returns ``(augmented, params)``; ``params`` holds what each transform drew, merged
    (``rate``, ``gain_db``, ``snr_db``...). The output length differs from the input's
    for the stretches. ``animal`` picks the stretch and pitch ranges (``ANIMAL_RANGES``);
    ``background_dir`` may also be one file (the noise recording chosen for this original);
    ``noise_root`` is what recorded background noise files are relative to (default:
    ``background_dir``).
    """
    seed_global_rngs(seed)
    params: dict[str, Any] = {}
    out = samples
    for step in AUGMENTATION_TYPES[name].steps:
        folder = short_noise_dir if step == "short_noises" else background_dir
        files = tuple(background_files) if step == "background" and noise_root is None else ()
        transform = _transform(step, animal, folder if step in _FOLDER_STEPS else None, files)
        before = out
        root = (noise_root or background_dir) if step == "background" else short_noise_dir
        try:
            out = transform(before, samplerate)
        except Exception as exc:
            noise_file = transform.parameters.get("noise_file_path") if step == "background" else None
            if noise_file is None:
                raise
            raise NoiseFileError(f"noise file {_rel(str(noise_file), root)} of --background-noise-dir "
                                 f"failed: {type(exc).__name__}: {exc}") from None
        params.update(_record(step, transform, before, samplerate, root))
    return np.asarray(out, dtype=np.float32), params


def warm_up(names: tuple[str, ...], animal: str = DEFAULT_ANIMAL) -> None:
    """Compile librosa's numba functions once, in the parent, before workers fork.

    Concurrent first compilations in workers can crash on numba's cache, and each
    would pay seconds; forked workers inherit the compiled code, and the import of
    audiomentations made here. Nothing to do when ``names`` is empty.
    """
    if names:
        _lib()
    if NEEDS_NUMBA.intersection(names):
        tiny = np.zeros(4096, dtype=np.float32)
        apply_augmentation("time_stretch", tiny, 16000, seed=0, animal=animal)
        if "pitch_shift" in names:
            apply_augmentation("pitch_shift", tiny, 16000, seed=0, animal=animal)
