"""Synthetic night-sound recordings for the demo data set, the benchmarks and the tests.

Each call type is a pure function of (duration, samplerate, rng) returning float32
samples in [-1, 1], so that any caller can write small, realistic-looking audio
without shipping recordings.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import soundfile as sf

Synth = Callable[[float, int, np.random.Generator], np.ndarray]


def _time(seconds: float, sr: int) -> np.ndarray:
    return np.arange(max(1, int(round(seconds * sr)))) / sr


def hoots(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Owl-like tonal hoots: 0.4 s notes near 400 Hz with harmonics, every ~1.2 s."""
    t = _time(seconds, sr)
    f0 = rng.uniform(300, 500)
    tone = np.sin(2 * np.pi * f0 * t) + 0.3 * np.sin(4 * np.pi * f0 * t)
    out = np.zeros_like(t)
    for start in np.arange(rng.uniform(0, 0.5), seconds, rng.uniform(0.9, 1.5)):
        lo, hi = _span(start - 0.3, start + 0.7, sr, len(t))  # the envelope is ~0 beyond
        out[lo:hi] += np.exp(-0.5 * ((t[lo:hi] - start - 0.2) / 0.08) ** 2) * tone[lo:hi]
    return _finish(out, rng)


def sweeps(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Bat- or bird-like downward frequency sweeps of 50 ms."""
    t = _time(seconds, sr)
    hi = min(rng.uniform(0.3, 0.45) * sr, 0.45 * sr)
    lo = hi / rng.uniform(2, 4)
    out = np.zeros_like(t)
    for start in np.arange(0.05, seconds, rng.uniform(0.15, 0.4)):
        a, b = _span(start, start + 0.05, sr, len(t))
        if b - a < 2:
            continue
        freq = hi + (lo - hi) * (t[a:b] - start) / 0.05
        out[a:b] += np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.hanning(b - a)
    return _finish(out, rng)


def _span(start: float, stop: float, sr: int, n: int) -> tuple[int, int]:
    """Sample indices of [start, stop) seconds, clipped to a signal of n samples."""
    return max(0, int(np.ceil(start * sr))), min(n, int(np.ceil(stop * sr)))


def clicks(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Insect-like click trains: short broadband pulses at 20 to 60 per second."""
    n = len(_time(seconds, sr))
    out = np.zeros(n)
    rate = rng.uniform(20, 60)
    width = max(2, int(0.002 * sr))
    for start in (np.arange(0, seconds, 1 / rate) * sr).astype(int):
        seg = out[start : start + width]
        seg += rng.standard_normal(len(seg)) * np.hanning(len(seg))
    return _finish(out, rng)


def noise_bursts(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Rain- or aircraft-like broadband noise with slow swells."""
    t = _time(seconds, sr)
    swell = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 6.28))
    return _finish(rng.standard_normal(len(t)) * swell, rng)


def trills(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Amphibian-like trills: a 1 to 2 kHz tone amplitude-modulated at 15 to 30 Hz."""
    t = _time(seconds, sr)
    carrier = np.sin(2 * np.pi * rng.uniform(1000, 2000) * t)
    return _finish(carrier * (0.5 + 0.5 * np.sign(np.sin(2 * np.pi * rng.uniform(15, 30) * t))), rng)


def drone(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Aircraft-like pass-by: engine harmonics of 70 to 140 Hz with a Doppler glide, and rumble.

    The pitch falls by about 15 % as the source passes, when it is loudest.
    """
    t = _time(seconds, sr)
    f0 = rng.uniform(70, 140)
    passing = rng.uniform(0.3, 0.7) * seconds
    span = max(seconds / 4, 0.1)
    freq = f0 * (1 + 0.08 * np.tanh((passing - t) / span))
    phase = 2 * np.pi * np.cumsum(freq) / sr
    engine = sum(0.6**k * np.sin(k * phase) for k in range(1, 9))
    width = max(1, sr // 400)  # a moving average: noise below about 400 Hz
    rumble = np.convolve(rng.standard_normal(len(t)), np.ones(width) / np.sqrt(width), "same")[: len(t)]
    loudness = 0.15 + np.exp(-0.5 * ((t - passing) / span) ** 2)
    return _finish((engine + 0.5 * rumble) * loudness, rng)


CALLS: dict[str, Synth] = {"hoots": hoots, "sweeps": sweeps, "clicks": clicks,
                           "noise_bursts": noise_bursts, "trills": trills, "drone": drone}


def _finish(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Add a faint noise floor and scale to a random peak between 0.3 and 0.8."""
    x = x + 0.01 * rng.standard_normal(len(x)) * (np.abs(x).max() or 1.0)
    peak = np.abs(x).max() or 1.0
    return (x / peak * rng.uniform(0.3, 0.8)).astype(np.float32)


def write_recording(
    path: str | os.PathLike,
    *,
    call: str = "hoots",
    seconds: float = 1.0,
    samplerate: int = 16000,
    channels: int = 1,
    subtype: str | None = None,
    seed: int = 0,
) -> None:
    """Write one synthetic recording; the format follows the extension (wav, flac, ...).

    Extra channels are the first one, slightly attenuated, so stereo files are real
    two-channel files whose mix-down is still the call.
    """
    rng = np.random.default_rng(seed)
    mono = CALLS[call](seconds, samplerate, rng)
    data = mono if channels == 1 else np.stack([mono * (1 - 0.1 * c) for c in range(channels)], axis=1)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    sf.write(path, data, samplerate, subtype=subtype)


# ---------------------------------------------------------------- look-alike recordings
# Songs and calls made to test content fingerprints: one call type sung by many
# individuals, and songs built from one repertoire of syllables in another order.

#: One repertoire of FM syllables: (start Hz, end Hz, seconds); all below 4 kHz.
SYLLABLES = ((1800.0, 3200.0, 0.09), (3400.0, 2000.0, 0.12), (2500.0, 2600.0, 0.15),
             (1200.0, 2400.0, 0.07), (3000.0, 1500.0, 0.10), (2200.0, 3600.0, 0.06))


def _fm_note(out: np.ndarray, sr: int, start: float, f_start: float, f_end: float,
             length: float) -> None:
    """Add one Hann-shaped linear sweep from ``f_start`` to ``f_end`` Hz at ``start`` s."""
    a, b = _span(start, start + length, sr, len(out))
    if b - a < 2:
        return
    freq = np.linspace(f_start, f_end, b - a)
    out[a:b] += np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.hanning(b - a)


def song(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A bird-like song: syllables of ``SYLLABLES`` in a seeded order, with seeded gaps.

    Two seeds give two songs of one species: the same syllables, another sequence.
    """
    out = np.zeros(len(_time(seconds, sr)))
    at = rng.uniform(0.02, 0.2)
    while at < seconds:
        f0, f1, length = SYLLABLES[rng.integers(len(SYLLABLES))]
        _fm_note(out, sr, at, f0, f1, length)
        at += length + rng.uniform(0.03, 0.15)
    return _finish(out, rng)


def individual_call(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One call type as one individual gives it: a rising then falling note repeated.

    Individuals differ a little, as real ones do: pitch (±8 %), slope, note length and
    interval (±15 %), start, and the noise floor.
    """
    out = np.zeros(len(_time(seconds, sr)))
    scale = rng.uniform(0.92, 1.08)
    rise, fall = 2000.0 * scale, rng.uniform(2600.0, 3000.0) * scale
    length = 0.12 * rng.uniform(0.85, 1.15)
    interval = 0.3 * rng.uniform(0.85, 1.15)
    at = rng.uniform(0.0, 0.15)
    while at < seconds:
        _fm_note(out, sr, at, rise, fall, length / 2)
        _fm_note(out, sr, at + length / 2, fall, rise * 0.9, length / 2)
        at += interval * rng.uniform(0.95, 1.05)
    return _finish(out, rng)
