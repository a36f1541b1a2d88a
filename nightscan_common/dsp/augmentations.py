"""The pool's augmentation types: audiomentations transforms, their ranges, what is recorded.

audiomentations draws its parameters from Python's global ``random`` and its noise from
``np.random``, which every thread of a process shares (a Dask worker runs its event loop
and other tasks beside ours). So the library is used for its maths only: each step's
parameters are drawn here from the task's own ``numpy.random.Generator`` (made from the
file's seed), set on a private copy of the transform and applied frozen; noise is drawn
from the same generator. The drawn values are recorded in units a user reads (the
stretch rate, the gain in dB, the SNR in dB).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import scipy.signal
from audiomentations import (
    AddBackgroundNoise,
    AddColorNoise,
    AddGaussianSNR,
    AddShortNoises,
    AirAbsorption,
    Gain,
    PitchShift,
    Shift,
    TimeStretch,
)
from audiomentations.core.utils import calculate_rms

from ..errors import NoiseFileError, UsageError
from .animals import ANIMAL_RANGES, DEFAULT_ANIMAL, AnimalRanges

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


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _frozen(transform: Any, samples: np.ndarray, samplerate: int, _rng: np.random.Generator) -> np.ndarray:
    """Run ``transform`` with the parameters already set on it: it draws nothing."""
    transform.parameters["should_apply"] = True
    transform.freeze_parameters()
    return transform(samples, samplerate)


@dataclass(frozen=True)
class Step:
    """One transform of a type: how it is built, what it draws, how it runs, what is recorded.

    ``build(ranges, folder)`` makes the transform (once per worker); ``draw(transform, rng,
    samples, sr)`` fills ``transform.parameters`` from the task's own ``rng``
    (audiomentations' keys, plus the drawn values in recorded units); ``apply`` runs it
    without drawing (noise comes from ``rng`` too); ``record`` turns the parameters into the
    metadata's units. ``folder``: the option naming the noise folder it reads; ``numba``:
    it runs librosa's numba-compiled code; ``relative_noise``: it adds noise relative to
    the input's level (none on a silent input).
    """

    name: str
    build: Callable[[AnimalRanges, str | None], Any]
    draw: Callable[[Any, np.random.Generator, np.ndarray, int], None]
    record: Callable[[dict[str, Any], np.ndarray, int, str | None], dict[str, Any]]
    apply: Callable[[Any, np.ndarray, int, np.random.Generator], np.ndarray] = _frozen
    folder: str | None = None
    numba: bool = False
    relative_noise: bool = False


def _draw_rate(t: Any, rng: np.random.Generator, _x: np.ndarray, _sr: int) -> None:
    t.parameters["rate"] = _uniform(rng, (t.min_rate, t.max_rate))


def _draw_gain(t: Any, rng: np.random.Generator, _x: np.ndarray, _sr: int) -> None:
    db = _uniform(rng, (t.min_gain_db, t.max_gain_db))
    t.parameters.update(gain_db=db, amplitude_ratio=10 ** (db / 20))


def _draw_gaussian(t: Any, rng: np.random.Generator, x: np.ndarray, _sr: int) -> None:
    snr = _uniform(rng, (t.min_snr_db, t.max_snr_db))
    t.parameters.update(snr_db=snr, noise_std=float(calculate_rms(x)) / 10 ** (snr / 20))


def _apply_gaussian(t: Any, x: np.ndarray, _sr: int, rng: np.random.Generator) -> np.ndarray:
    return x + rng.normal(0.0, t.parameters["noise_std"], size=x.shape).astype(np.float32)


def _draw_color(t: Any, rng: np.random.Generator, x: np.ndarray, _sr: int) -> None:
    snr = _uniform(rng, (t.min_snr_db, t.max_snr_db))
    t.parameters.update(snr_db=snr, f_decay=_uniform(rng, (t.min_f_decay, t.max_f_decay)),
                        apply_a_weighting=False,
                        desired_noise_rms=float(calculate_rms(x)) / 10 ** (snr / 20))


def _apply_color(t: Any, x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """AddColorNoise's noise (white noise shaped by ``f_decay`` dB per octave), drawn from ``rng``."""
    white = rng.normal(0.0, 1.0, size=x.shape)
    beta_db = t.parameters["f_decay"]
    if beta_db != 0.0:
        f = np.fft.rfftfreq(t.n_fft, 1.0 / sr)
        f[0] = 1
        beta = beta_db / -10.0 / np.log10(2.0)
        decay = np.sqrt(1 / f ** beta) * np.exp(1j * rng.uniform(0, 2 * np.pi, len(f)))
        white = scipy.signal.oaconvolve(white, np.fft.irfft(decay), "same")
        white /= np.sqrt(np.mean(white ** 2))
    return x + white.astype(np.float32) * t.parameters["desired_noise_rms"]


def _draw_semitones(t: Any, rng: np.random.Generator, _x: np.ndarray, _sr: int) -> None:
    t.parameters["num_semitones"] = _uniform(rng, (t.min_semitones, t.max_semitones))


def _draw_shift(t: Any, rng: np.random.Generator, _x: np.ndarray, _sr: int) -> None:
    t.parameters["shift_amount"] = _uniform(rng, (t.min_shift, t.max_shift))


def _draw_background(t: Any, rng: np.random.Generator, x: np.ndarray, sr: int) -> None:
    t.parameters.update(snr_db=_uniform(rng, (t.min_snr_db, t.max_snr_db)),
                        rms_db=_uniform(rng, (t.min_absolute_rms_db, t.max_absolute_rms_db)))
    index = int(rng.integers(len(t.sound_file_paths)))
    path = t.parameters["noise_file_path"] = str(t.sound_file_paths[index])
    signal_seconds = len(x) / sr
    longer_by = max(0.0, librosa.get_duration(path=path) - signal_seconds)
    t.parameters.update(offset=_uniform(rng, (0.0, longer_by)), duration=signal_seconds)


def _one_short_noise(t: Any, rng: np.random.Generator, start: float, sr: int) -> tuple[dict, float]:
    path = t.sound_file_paths[int(rng.integers(len(t.sound_file_paths)))]
    seconds = len(t._load_sound(path, sr)[0]) / sr
    fade_in = min(seconds, _uniform(rng, (t.min_fade_in_time, t.max_fade_in_time)))
    fade_out = min(seconds, _uniform(rng, (t.min_fade_out_time, t.max_fade_out_time)))
    snr = _uniform(rng, (t.min_snr_db, t.max_snr_db))
    rms = _uniform(rng, (t.min_absolute_noise_rms_db, t.max_absolute_noise_rms_db))
    return ({"fade_in_time": fade_in, "start": start, "end": start + seconds, "fade_out_time": fade_out,
             "file_path": str(path), "snr_db": snr, "rms_db": rms}, seconds)


def _draw_short_noises(t: Any, rng: np.random.Generator, x: np.ndarray, sr: int) -> None:
    """AddShortNoises' schedule (a sound, sometimes a burst of overlapping ones, a pause...)."""
    total = len(x) / sr
    now = _uniform(rng, (-t.max_time_between_sounds, t.max_time_between_sounds))
    sounds: list[dict] = []
    while now < total:
        sound, seconds = _one_short_noise(t, rng, now, sr)
        sounds.append(sound)
        while rng.random() < t.burst_probability and now < total:
            now = sounds[-1]["start"] + _uniform(rng, (t.min_pause_factor_during_burst,
                                                       t.max_pause_factor_during_burst)) * seconds
            if now >= total:
                break
            sound, seconds = _one_short_noise(t, rng, now, sr)
            sounds.append(sound)
        now += seconds + _uniform(rng, (t.min_time_between_sounds, t.max_time_between_sounds))
    t.parameters["sounds"] = sounds


def _draw_air(t: Any, rng: np.random.Generator, _x: np.ndarray, _sr: int) -> None:
    t.parameters.update(
        temperature=10 * int(rng.integers(int(t.min_temperature) // 10, int(t.max_temperature) // 10 + 1)),
        humidity=int(rng.integers(t.min_humidity, t.max_humidity + 1)),
        distance=_uniform(rng, (t.min_distance, t.max_distance)))


def _rate_record(p: dict, _x: np.ndarray, _sr: int, _root: str | None) -> dict[str, Any]:
    return {"rate": p["rate"]}


def _gain_record(p: dict, _x: np.ndarray, _sr: int, _root: str | None) -> dict[str, Any]:
    return {"gain_db": p["gain_db"]}


def _gaussian_record(p: dict, _x: np.ndarray, _sr: int, _root: str | None) -> dict[str, Any]:
    return {"snr_db": p["snr_db"], "noise_std": p["noise_std"]}


def _color_record(p: dict, _x: np.ndarray, _sr: int, _root: str | None) -> dict[str, Any]:
    return {"snr_db": p["snr_db"], "f_decay_db": p["f_decay"]}


def _pitch_record(p: dict, _x: np.ndarray, _sr: int, _root: str | None) -> dict[str, Any]:
    return {"semitones": p["num_semitones"]}


def _shift_record(p: dict, x: np.ndarray, sr: int, _root: str | None) -> dict[str, Any]:
    return {"shift_fraction": p["shift_amount"], "shift_seconds": round(p["shift_amount"] * len(x)) / sr}


def _background_record(p: dict, _x: np.ndarray, _sr: int, root: str | None) -> dict[str, Any]:
    return {"snr_db": p["snr_db"], "offset_seconds": p["offset"],
            "noise_file": _rel(p["noise_file_path"], root)}


def _short_noises_record(p: dict, _x: np.ndarray, _sr: int, root: str | None) -> dict[str, Any]:
    return {"short_noises": [{"noise_file": _rel(n["file_path"], root), "start_seconds": n["start"],
                              "end_seconds": n["end"], "snr_db": n["snr_db"]} for n in p["sounds"]]}


def _air_record(p: dict, _x: np.ndarray, _sr: int, _root: str | None) -> dict[str, Any]:
    return {"distance_m": p["distance"], "temperature_c": p["temperature"], "humidity": p["humidity"]}


BACKGROUND_OPTION, SHORT_NOISE_OPTION = "--background-noise-dir", "--short-noise-dir"


def _gain(name: str, lo_hi: tuple[float, float]) -> Step:
    return Step(name, lambda _r, _dir: Gain(min_gain_db=lo_hi[0], max_gain_db=lo_hi[1], p=1.0), _draw_gain,
                _gain_record)


def _gaussian(name: str, lo_hi: tuple[float, float]) -> Step:
    return Step(name, lambda _r, _dir: AddGaussianSNR(min_snr_db=lo_hi[0], max_snr_db=lo_hi[1], p=1.0),
                _draw_gaussian, _gaussian_record, _apply_gaussian, relative_noise=True)


def _stretch_step(name: str, pick: Callable[[AnimalRanges], tuple[float, float]]) -> Step:
    return Step(name, lambda r, _dir: _stretch(pick(r)), _draw_rate, _rate_record, numba=True)


STRETCH = _stretch_step("stretch", lambda r: r.stretch)
LIGHT_STRETCH = _stretch_step("light_stretch", lambda r: r.light_stretch)
NOISE, LIGHT_NOISE = _gaussian("noise", NOISE_SNR_DB), _gaussian("light_noise", COMBINED_SNR_DB)
GAIN, LIGHT_GAIN = _gain("gain", VOLUME_GAIN_DB), _gain("light_gain", COMBINED_GAIN_DB)
GAIN_WIDE = _gain("gain_wide", WIDE_GAIN_DB)
PITCH = Step("pitch", lambda r, _dir: PitchShift(min_semitones=(r.pitch or PITCH_SEMITONES)[0],
                                                 max_semitones=(r.pitch or PITCH_SEMITONES)[1],
                                                 method=STRETCH_METHOD, p=1.0),
             _draw_semitones, _pitch_record, numba=True)
SHIFT = Step("shift", lambda _r, _dir: Shift(min_shift=SHIFT_FRACTION[0], max_shift=SHIFT_FRACTION[1],
                                             shift_unit="fraction", rollover=True, p=1.0),
             _draw_shift, _shift_record)
BACKGROUND = Step("background", lambda _r, bg: AddBackgroundNoise(
    sounds_path=bg, min_snr_db=BACKGROUND_SNR_DB[0], max_snr_db=BACKGROUND_SNR_DB[1], p=1.0),
                  _draw_background, _background_record, folder=BACKGROUND_OPTION, relative_noise=True)
COLOR_NOISE = Step("color_noise", lambda _r, _dir: AddColorNoise(
    min_snr_db=COLOR_NOISE_SNR_DB[0], max_snr_db=COLOR_NOISE_SNR_DB[1], min_f_decay=COLOR_NOISE_DECAY_DB[0],
    max_f_decay=COLOR_NOISE_DECAY_DB[1], p=1.0), _draw_color, _color_record, _apply_color)
SHORT_NOISES = Step("short_noises", lambda _r, folder: AddShortNoises(
    sounds_path=folder, min_snr_db=SHORT_NOISE_SNR_DB[0], max_snr_db=SHORT_NOISE_SNR_DB[1],
    min_time_between_sounds=SHORT_NOISE_GAP_S[0], max_time_between_sounds=SHORT_NOISE_GAP_S[1],
    noise_rms="relative_to_whole_input", p=1.0, lru_cache_size=8),
    _draw_short_noises, _short_noises_record, folder=SHORT_NOISE_OPTION)
AIR = Step("air", lambda _r, _dir: AirAbsorption(min_distance=AIR_DISTANCE_M[0],
                                                 max_distance=AIR_DISTANCE_M[1], p=1.0),
           _draw_air, _air_record)


@dataclass(frozen=True, kw_only=True)
class AugmentationType:
    """One name of ``--augmentations``, and everything the toolkit knows of it.

    ``steps`` are applied in order (what each draws, applies and records is on the step);
    ``bytes_per_frame`` is its peak memory per frame of the original, which ``--max-memory``
    budgets: measured (``bench/bench_augmentation_memory.py``, a mono 48 kHz clip:
    ``time_stretch`` 52, ``combined`` 53, ``pitch_shift`` 54, ``air_absorption`` 86,
    ``color_noise`` 43, ``noise`` 12, ``short_noises`` 9, ``background_noise`` 8, the gains
    and ``shift`` 4) with room for a rate of 0.8 (a longer result) and a stereo decode;
    ``default`` puts it in the default ``--augmentations``.
    """

    name: str
    summary: str
    steps: tuple[Step, ...]
    bytes_per_frame: int
    default: bool = False

    @property
    def needs_numba(self) -> bool:
        """It runs librosa's numba-compiled code (warmed up before workers fork)."""
        return any(step.numba for step in self.steps)

    @property
    def folder_option(self) -> str | None:
        """The option naming the folder of noise recordings it reads, if any."""
        return next((step.folder for step in self.steps if step.folder), None)


def register(kind: AugmentationType) -> AugmentationType:
    """Add a type to ``AUGMENTATION_TYPES`` (the one place that lists them); returns it."""
    if kind.name in AUGMENTATION_TYPES:
        raise ValueError(f"augmentation type {kind.name!r} is registered already")
    AUGMENTATION_TYPES[kind.name] = kind
    return kind


AUGMENTATION_TYPES: dict[str, AugmentationType] = {}
for _kind in (
    AugmentationType(name="time_stretch", summary=f"TimeStretch, rate {TIME_STRETCH_RATE[0]} to "
                     f"{TIME_STRETCH_RATE[1]}, pitch kept, length not kept", steps=(STRETCH,),
                     bytes_per_frame=80, default=True),
    AugmentationType(name="noise", summary=f"AddGaussianSNR, SNR {NOISE_SNR_DB[0]:g} to "
                     f"{NOISE_SNR_DB[1]:g} dB", steps=(NOISE,), bytes_per_frame=24, default=True),
    AugmentationType(name="volume", summary=f"Gain, {VOLUME_GAIN_DB[0]:g} to {VOLUME_GAIN_DB[1]:g} dB",
                     steps=(GAIN,), bytes_per_frame=16, default=True),
    AugmentationType(name="combined", summary=f"TimeStretch {COMBINED_RATE[0]} to {COMBINED_RATE[1]}, then "
                     f"AddGaussianSNR {COMBINED_SNR_DB[0]:g} to {COMBINED_SNR_DB[1]:g} dB, then Gain "
                     f"{COMBINED_GAIN_DB[0]:g} to {COMBINED_GAIN_DB[1]:g} dB",
                     steps=(LIGHT_STRETCH, LIGHT_NOISE, LIGHT_GAIN), bytes_per_frame=80, default=True),
    AugmentationType(name="pitch_shift", summary=f"PitchShift, {PITCH_SEMITONES[0]:g} to "
                     f"{PITCH_SEMITONES[1]:g} semitones", steps=(PITCH,), bytes_per_frame=80),
    AugmentationType(name="shift", summary=f"Shift in time with rollover, {SHIFT_FRACTION[0]:g} to "
                     f"{SHIFT_FRACTION[1]:g} of the length", steps=(SHIFT,), bytes_per_frame=16),
    AugmentationType(name="background_noise", summary="AddBackgroundNoise from --background-noise-dir or "
                     f"--background-noise-class, SNR {BACKGROUND_SNR_DB[0]:g} to {BACKGROUND_SNR_DB[1]:g} dB",
                     steps=(BACKGROUND,), bytes_per_frame=32),
    AugmentationType(name="color_noise", summary=f"AddColorNoise, SNR {COLOR_NOISE_SNR_DB[0]:g} to "
                     f"{COLOR_NOISE_SNR_DB[1]:g} dB, slope {COLOR_NOISE_DECAY_DB[0]:g} to "
                     f"{COLOR_NOISE_DECAY_DB[1]:+g} dB per octave", steps=(COLOR_NOISE,), bytes_per_frame=72),
    AugmentationType(name="short_noises", summary="AddShortNoises from --short-noise-dir (rain drops, insect "
                     f"bursts, a plane), SNR {SHORT_NOISE_SNR_DB[0]:g} to {SHORT_NOISE_SNR_DB[1]:g} dB, "
                     f"every {SHORT_NOISE_GAP_S[0]:g} to {SHORT_NOISE_GAP_S[1]:g} s", steps=(SHORT_NOISES,),
                     bytes_per_frame=32),
    AugmentationType(name="gain_wide", summary=f"Gain, {WIDE_GAIN_DB[0]:g} to {WIDE_GAIN_DB[1]:+g} dB "
                     "(BirdSet's range)", steps=(GAIN_WIDE,), bytes_per_frame=16),
    AugmentationType(name="air_absorption", summary=f"AirAbsorption, a source {AIR_DISTANCE_M[0]:g} to "
                     f"{AIR_DISTANCE_M[1]:g} m away (animal types of {AIR_MIN_SAMPLE_RATE // 1000} kHz and "
                     "more)", steps=(AIR,), bytes_per_frame=128),
):
    register(_kind)


def default_augmentations() -> tuple[str, ...]:
    """The types of the default ``--augmentations``, in registry order."""
    return tuple(n for n, t in AUGMENTATION_TYPES.items() if t.default)


DEFAULT_AUGMENTATIONS: tuple[str, ...] = default_augmentations()


def noise_folder_options() -> dict[str, str]:
    """Type -> the option naming the noise folder it reads, for the types that read one."""
    return {n: t.folder_option for n, t in AUGMENTATION_TYPES.items() if t.folder_option}


#: Types that read a folder of noise recordings, and the option that names it.
NOISE_FOLDER_OPTION = noise_folder_options()


def augmentation_table_markdown() -> str:
    """The README's table of augmentation types, made from ``AUGMENTATION_TYPES``."""
    lines = ["| type | what it does | default | reads | numba | memory per frame |",
             "|---|---|---|---|---|---|"]
    for t in AUGMENTATION_TYPES.values():
        lines.append(f"| `{t.name}` | {t.summary} | {'yes' if t.default else 'opt-in'} | "
                     f"{t.folder_option or '-'} | {'yes' if t.needs_numba else 'no'} | "
                     f"{t.bytes_per_frame} B |")
    return "\n".join(lines)


@cache
def _transform(step: Step, animal: str, noise_dir: str | None, noise_files: tuple[str, ...] = ()) -> Any:
    """One transform object per step, animal type and worker (noise folders scanned once).

    ``noise_files`` (relative to ``noise_dir``), when given, are the only background noise
    files drawn from: those that passed the up-front check, whatever their extension.
    Shared between a worker's threads: ``_private`` copies it before parameters are set.
    """
    transform = step.build(ANIMAL_RANGES[animal], noise_dir)
    if step is BACKGROUND and noise_files:
        transform.sound_file_paths = [Path(noise_dir, *rel.split("/")) for rel in noise_files]
    return transform


def _private(transform: Any) -> Any:
    """A shallow copy of a shared transform with parameters of its own (caches stay shared)."""
    copy = object.__new__(type(transform))
    copy.__dict__.update(transform.__dict__)
    copy.parameters = {"should_apply": True}
    return copy


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _record(step: Step, params: dict[str, Any], before: np.ndarray, sr: int,
            noise_root: str | None) -> dict[str, Any]:
    """The parameters one step applied, in the units the metadata records.

    Noise files are recorded relative to ``noise_root`` (the noise folder, or the audio
    root for ``--background-noise-class``).
    """
    if step.relative_noise and not np.any(before):
        return {"no_effect": "the input is silent: noise relative to its level is none"}
    return step.record(params, before, sr, noise_root)


def apply_augmentation(name: str, samples: np.ndarray, samplerate: int, *, seed: int,
                       animal: str = DEFAULT_ANIMAL, background_dir: str | None = None,
                       short_noise_dir: str | None = None, noise_root: str | None = None,
                       background_files: tuple[str, ...] = ()) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply augmentation type ``name`` to a mono float32 signal, reproducibly.

    Every random choice comes from one ``numpy.random.Generator`` made from ``seed`` and
    owned by this call: no global generator is read, so other threads of the process
    cannot change the result. Returns ``(augmented, params)``; ``params`` holds what each
    transform drew, merged (``rate``, ``gain_db``, ``snr_db``...). The output length
    differs from the input's for the stretches. ``animal`` picks the stretch and pitch
    ranges (``ANIMAL_RANGES``); ``background_dir`` may also be one file (the noise
    recording chosen for this original); ``noise_root`` is what recorded background
    noise files are relative to (default: ``background_dir``).
    """
    rng = np.random.default_rng(seed)
    params: dict[str, Any] = {}
    out = samples
    folders = {BACKGROUND_OPTION: background_dir, SHORT_NOISE_OPTION: short_noise_dir}
    for step in AUGMENTATION_TYPES[name].steps:
        folder = folders[step.folder] if step.folder else None
        if step.folder and not folder:
            raise UsageError(f"{name} needs {step.folder}")
        files = tuple(background_files) if step is BACKGROUND and noise_root is None else ()
        transform = _private(_transform(step, animal, folder, files))
        before = out
        root = (noise_root or folder) if step is BACKGROUND else folder
        try:
            step.draw(transform, rng, before, samplerate)
            out = step.apply(transform, before, samplerate, rng)
        except Exception as exc:
            noise_file = transform.parameters.get("noise_file_path") if step is BACKGROUND else None
            if noise_file is None:
                raise
            raise NoiseFileError(f"noise file {_rel(str(noise_file), root)} of --background-noise-dir "
                                 f"failed: {type(exc).__name__}: {exc}") from None
        params.update(_record(step, transform.parameters, before, samplerate, root))
    return np.asarray(out, dtype=np.float32), params


def warm_up(names: tuple[str, ...], animal: str = DEFAULT_ANIMAL) -> None:
    """Compile librosa's numba functions once, in the parent, before workers fork.

    Concurrent first compilations in workers can crash on numba's cache, and each
    would pay seconds; forked workers inherit the compiled code. Each numba step of the
    ``names`` runs once on a tiny signal.
    """
    tiny = np.zeros(4096, dtype=np.float32)
    steps = {step.name: step for n in names for step in AUGMENTATION_TYPES[n].steps if step.numba}
    for step in steps.values():
        transform = _private(_transform(step, animal, None))
        step.draw(transform, np.random.default_rng(0), tiny, 16000)
        step.apply(transform, tiny, 16000, np.random.default_rng(0))
