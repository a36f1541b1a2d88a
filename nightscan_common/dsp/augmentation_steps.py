"""The steps of the pool's augmentation types: one audiomentations transform each, its ranges,
what it draws, how it runs and what it records.

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
from types import ModuleType
from typing import Any

import numpy as np

from . import phase_vocoder
from .animals import ANIMAL_RANGES, DEFAULT_ANIMAL, AnimalRanges

# Ranges, one place each; --help and the generated table of docs/step1-pool.md quote them
# from here. The stretch and pitch ranges of the general animal type; other types take
# theirs from ANIMAL_RANGES.
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


def audiomentations_lib() -> ModuleType:
    """audiomentations, imported on first use: only a process that augments pays for it
    (about 1.2 s of CPU, most of it scipy.signal)."""
    import audiomentations
    import audiomentations.core.utils

    return audiomentations


def calculate_rms(samples: np.ndarray) -> float:
    """audiomentations' RMS, the level its SNRs are relative to."""
    return audiomentations_lib().core.utils.calculate_rms(samples)


def rel_path(path: str, root: str) -> str:
    """``path`` relative to ``root``, with forward slashes (as the metadata records it)."""
    return os.path.relpath(path, root).replace(os.sep, "/")


def _stretch(lo_hi: tuple[float, float]) -> Any:
    return audiomentations_lib().TimeStretch(min_rate=lo_hi[0], max_rate=lo_hi[1],
                                             leave_length_unchanged=False, method=STRETCH_METHOD, p=1.0)


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _frozen(transform: Any, samples: np.ndarray, samplerate: int, _rng: np.random.Generator) -> np.ndarray:
    """Run ``transform`` with the parameters already set on it: it draws nothing."""
    transform.parameters["should_apply"] = True
    transform.freeze_parameters()
    return transform(samples, samplerate)


@dataclass(frozen=True, kw_only=True)
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


def draw_gain(t: Any, rng: np.random.Generator, _x: np.ndarray, _sr: int) -> None:
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
        import scipy.signal

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
    import librosa

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
            "noise_file": rel_path(p["noise_file_path"], root)}


def _short_noises_record(p: dict, _x: np.ndarray, _sr: int, root: str | None) -> dict[str, Any]:
    return {"short_noises": [{"noise_file": rel_path(n["file_path"], root), "start_seconds": n["start"],
                              "end_seconds": n["end"], "snr_db": n["snr_db"]} for n in p["sounds"]]}


def _air_record(p: dict, _x: np.ndarray, _sr: int, _root: str | None) -> dict[str, Any]:
    return {"distance_m": p["distance"], "temperature_c": p["temperature"], "humidity": p["humidity"]}


BACKGROUND_OPTION, SHORT_NOISE_OPTION = "--background-noise-dir", "--short-noise-dir"


def _gain(name: str, lo_hi: tuple[float, float]) -> Step:
    return Step(name=name, build=lambda _r, _dir: audiomentations_lib().Gain(min_gain_db=lo_hi[0],
                                                                             max_gain_db=lo_hi[1], p=1.0),
                draw=draw_gain, record=_gain_record)


def _gaussian(name: str, lo_hi: tuple[float, float]) -> Step:
    return Step(name=name, build=lambda _r, _dir: audiomentations_lib().AddGaussianSNR(min_snr_db=lo_hi[0],
                                                                            max_snr_db=lo_hi[1], p=1.0),
                draw=_draw_gaussian, record=_gaussian_record, apply=_apply_gaussian, relative_noise=True)


def _apply_stretch(t: Any, x: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """``TimeStretch`` with the parameters set on it, mono through ``phase_vocoder.time_stretch``
    (librosa's bytes, faster); anything else through the transform itself."""
    if x.ndim != 1 or x.dtype != np.float32 or not len(x):
        return _frozen(t, x, sr, rng)
    return phase_vocoder.time_stretch(x, rate=t.parameters["rate"])


def _stretch_step(name: str, pick: Callable[[AnimalRanges], tuple[float, float]]) -> Step:
    return Step(name=name, build=lambda r, _dir: _stretch(pick(r)), draw=_draw_rate, record=_rate_record,
                apply=_apply_stretch, numba=True)


STRETCH = _stretch_step("stretch", lambda r: r.stretch)
LIGHT_STRETCH = _stretch_step("light_stretch", lambda r: r.light_stretch)
NOISE, LIGHT_NOISE = _gaussian("noise", NOISE_SNR_DB), _gaussian("light_noise", COMBINED_SNR_DB)
GAIN, LIGHT_GAIN = _gain("gain", VOLUME_GAIN_DB), _gain("light_gain", COMBINED_GAIN_DB)
GAIN_WIDE = _gain("gain_wide", WIDE_GAIN_DB)
PITCH = Step(name="pitch", build=lambda r, _dir: audiomentations_lib().PitchShift(
    min_semitones=(r.pitch or PITCH_SEMITONES)[0], max_semitones=(r.pitch or PITCH_SEMITONES)[1],
    method=STRETCH_METHOD, p=1.0),
             draw=_draw_semitones, record=_pitch_record, numba=True)
SHIFT = Step(name="shift", build=lambda _r, _dir: audiomentations_lib().Shift(
    min_shift=SHIFT_FRACTION[0], max_shift=SHIFT_FRACTION[1], shift_unit="fraction", rollover=True, p=1.0),
             draw=_draw_shift, record=_shift_record)
BACKGROUND = Step(name="background", build=lambda _r, bg: audiomentations_lib().AddBackgroundNoise(
    sounds_path=bg, min_snr_db=BACKGROUND_SNR_DB[0], max_snr_db=BACKGROUND_SNR_DB[1], p=1.0),
                  draw=_draw_background, record=_background_record, folder=BACKGROUND_OPTION,
                  relative_noise=True)
COLOR_NOISE = Step(name="color_noise", build=lambda _r, _dir: audiomentations_lib().AddColorNoise(
    min_snr_db=COLOR_NOISE_SNR_DB[0], max_snr_db=COLOR_NOISE_SNR_DB[1], min_f_decay=COLOR_NOISE_DECAY_DB[0],
    max_f_decay=COLOR_NOISE_DECAY_DB[1], p=1.0), draw=_draw_color, record=_color_record, apply=_apply_color)
SHORT_NOISES = Step(name="short_noises", build=lambda _r, folder: audiomentations_lib().AddShortNoises(
    sounds_path=folder, min_snr_db=SHORT_NOISE_SNR_DB[0], max_snr_db=SHORT_NOISE_SNR_DB[1],
    min_time_between_sounds=SHORT_NOISE_GAP_S[0], max_time_between_sounds=SHORT_NOISE_GAP_S[1],
    noise_rms="relative_to_whole_input", p=1.0, lru_cache_size=8),
    draw=_draw_short_noises, record=_short_noises_record, folder=SHORT_NOISE_OPTION)
AIR = Step(name="air", build=lambda _r, _dir: audiomentations_lib().AirAbsorption(
    min_distance=AIR_DISTANCE_M[0], max_distance=AIR_DISTANCE_M[1], p=1.0),
           draw=_draw_air, record=_air_record)
