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
from typing import Any

import numpy as np
from audiomentations import AddBackgroundNoise, AddGaussianSNR, Gain, PitchShift, Shift, TimeStretch
from audiomentations.core.utils import calculate_rms

from ..errors import NoiseFileError, UsageError
from ..plans.seeds import seed_global_rngs

# Ranges, one place each; --help and the README quote them from here.
TIME_STRETCH_RATE = (0.8, 1.25)
NOISE_SNR_DB = (10.0, 30.0)
VOLUME_GAIN_DB = (-6.0, 0.0)
COMBINED_RATE = (0.9, 1.1)
COMBINED_SNR_DB = (20.0, 40.0)
COMBINED_GAIN_DB = (-6.0, 0.0)
PITCH_SEMITONES = (-2.0, 2.0)
SHIFT_FRACTION = (-0.25, 0.25)
BACKGROUND_SNR_DB = (3.0, 30.0)
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
        AugmentationType("background_noise", "AddBackgroundNoise from --background-noise-dir, SNR "
                         f"{BACKGROUND_SNR_DB[0]:g} to {BACKGROUND_SNR_DB[1]:g} dB",
                         ("background",), default=False),
    )
}
DEFAULT_AUGMENTATIONS: tuple[str, ...] = tuple(n for n, t in AUGMENTATION_TYPES.items() if t.default)
#: Types that run librosa's numba-compiled phase vocoder (warm it up before forking).
NEEDS_NUMBA = frozenset({"time_stretch", "combined", "pitch_shift"})


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


def _stretch(lo_hi: tuple[float, float]) -> TimeStretch:
    return TimeStretch(min_rate=lo_hi[0], max_rate=lo_hi[1], leave_length_unchanged=False,
                       method=STRETCH_METHOD, p=1.0)


_STEP_BUILDERS: dict[str, Callable[[str | None], Any]] = {
    "stretch": lambda _bg: _stretch(TIME_STRETCH_RATE),
    "light_stretch": lambda _bg: _stretch(COMBINED_RATE),
    "noise": lambda _bg: AddGaussianSNR(min_snr_db=NOISE_SNR_DB[0], max_snr_db=NOISE_SNR_DB[1], p=1.0),
    "light_noise": lambda _bg: AddGaussianSNR(min_snr_db=COMBINED_SNR_DB[0],
                                              max_snr_db=COMBINED_SNR_DB[1], p=1.0),
    "gain": lambda _bg: Gain(min_gain_db=VOLUME_GAIN_DB[0], max_gain_db=VOLUME_GAIN_DB[1], p=1.0),
    "light_gain": lambda _bg: Gain(min_gain_db=COMBINED_GAIN_DB[0], max_gain_db=COMBINED_GAIN_DB[1], p=1.0),
    "pitch": lambda _bg: PitchShift(min_semitones=PITCH_SEMITONES[0], max_semitones=PITCH_SEMITONES[1],
                                    method=STRETCH_METHOD, p=1.0),
    "shift": lambda _bg: Shift(min_shift=SHIFT_FRACTION[0], max_shift=SHIFT_FRACTION[1],
                               shift_unit="fraction", rollover=True, p=1.0),
    "background": lambda bg: AddBackgroundNoise(sounds_path=bg, min_snr_db=BACKGROUND_SNR_DB[0],
                                                max_snr_db=BACKGROUND_SNR_DB[1], p=1.0),
}


@cache
def _transform(step: str, background_dir: str | None, background_files: tuple[str, ...] = ()) -> Any:
    """One transform object per step and worker (AddBackgroundNoise scans its folder once).

    ``background_files`` (relative to ``background_dir``), when given, are the only noise
    files drawn from: those that passed the up-front check, whatever their extension.
    """
    if step == "background" and not background_dir:
        raise UsageError("background_noise needs --background-noise-dir")
    transform = _STEP_BUILDERS[step](background_dir)
    if step == "background" and background_files:
        transform.sound_file_paths = [Path(background_dir, *rel.split("/")) for rel in background_files]
    return transform


def _db(ratio: float) -> float:
    return 20.0 * math.log10(ratio)


def _record(step: str, transform: Any, before: np.ndarray, after: np.ndarray, sr: int,
            background_dir: str | None) -> dict[str, Any]:
    """The parameters one transform applied, in the units the metadata records."""
    p = transform.parameters
    if step in ("noise", "light_noise", "background") and not np.any(before):
        return {"no_effect": "the input is silent: noise relative to its level is none"}
    if step in ("stretch", "light_stretch"):
        return {"rate": p["rate"]}
    if step in ("gain", "light_gain"):
        return {"gain_db": _db(p["amplitude_ratio"])}
    if step in ("noise", "light_noise"):
        clean_rms = float(calculate_rms(before))
        # AddGaussianSNR keeps only noise_std = clean_rms / 10**(snr/20): invert it.
        snr = _db(clean_rms / p["noise_std"]) if clean_rms > 0 and p["noise_std"] > 0 else None
        return {"snr_db": snr, "noise_std": p["noise_std"]}
    if step == "pitch":
        return {"semitones": p["num_semitones"]}
    if step == "shift":
        return {"shift_fraction": p["shift_amount"],
                "shift_seconds": round(p["shift_amount"] * len(before)) / sr}
    if step == "background":
        return {"snr_db": p["snr_db"], "offset_seconds": p["offset"],
                "noise_file": os.path.relpath(p["noise_file_path"], background_dir).replace(os.sep, "/")}
    raise KeyError(step)


def apply_augmentation(name: str, samples: np.ndarray, samplerate: int, *, seed: int,
                       background_dir: str | None = None,
                       background_files: tuple[str, ...] = ()) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply augmentation type ``name`` to a mono float32 signal, reproducibly.

    Returns ``(augmented, params)``; ``params`` holds what each transform drew, merged
    (``rate``, ``gain_db``, ``snr_db``...). The output length differs from the input's
    for the stretches.
    """
    seed_global_rngs(seed)
    params: dict[str, Any] = {}
    out = samples
    for step in AUGMENTATION_TYPES[name].steps:
        transform = _transform(step, background_dir, tuple(background_files))
        before = out
        try:
            out = transform(before, samplerate)
        except Exception as exc:
            noise_file = transform.parameters.get("noise_file_path") if step == "background" else None
            if noise_file is None:
                raise
            rel = os.path.relpath(noise_file, background_dir).replace(os.sep, "/")
            raise NoiseFileError(f"noise file {rel} of --background-noise-dir failed: "
                                 f"{type(exc).__name__}: {exc}") from None
        params.update(_record(step, transform, before, out, samplerate, background_dir))
    return np.asarray(out, dtype=np.float32), params


def warm_up(names: tuple[str, ...]) -> None:
    """Compile librosa's numba functions once, in the parent, before workers fork.

    Concurrent first compilations in workers can crash on numba's cache, and each
    would pay seconds; forked workers inherit the compiled code.
    """
    if NEEDS_NUMBA.intersection(names):
        tiny = np.zeros(4096, dtype=np.float32)
        apply_augmentation("time_stretch", tiny, 16000, seed=0)
        if "pitch_shift" in names:
            apply_augmentation("pitch_shift", tiny, 16000, seed=0)
