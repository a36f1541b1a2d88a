"""librosa's time stretch with its phase vocoder written over chunks of frames: the same bytes, faster.

``librosa.effects.time_stretch`` (what audiomentations' ``TimeStretch`` runs) is an STFT,
a phase vocoder and an inverse STFT. The phase vocoder loops over output frames in Python,
each step a handful of small array operations; here every step but the running phase is
done once for a chunk of frames, in the same dtypes and the same order of operations, so
each value is rounded as librosa rounds it. The running phase stays a loop (each frame adds to
the last, in float32, as librosa does) and the phasors come from librosa's own function.
``tests/dsp/test_phase_vocoder.py`` checks the bytes against librosa's on many signals;
``bench/bench_stretch.py`` measures both.
"""

from __future__ import annotations

import numpy as np

#: Output frames computed together: their temporaries stay in the cache, and memory stays
#: that of the output whatever the clip's length.
CHUNK_FRAMES = 64


def phase_vocoder(stft: np.ndarray, *, rate: float) -> np.ndarray:
    """``librosa.phase_vocoder(stft, rate=rate)`` for a ``(bins, frames)`` STFT of librosa's
    default hop (a quarter of the FFT's length); the same array, as a transposed view."""
    import librosa

    bins, n_in = stft.shape
    n_fft = 2 * (bins - 1)
    steps = np.arange(0, n_in, rate, dtype=np.float64)
    advance = (n_fft // 4) * librosa.fft_frequencies(sr=2 * np.pi, n_fft=n_fft)
    out = np.empty((len(steps), bins), dtype=stft.dtype)  # frames as rows: contiguous writes
    phase = np.angle(stft[:, 0])
    for start in range(0, len(steps), CHUNK_FRAMES):
        chunk = steps[start:start + CHUNK_FRAMES]
        first = chunk.astype(np.intp)
        lo = first[0]
        # the input frames the chunk reads, as rows; librosa's two silent frames after the last
        frames = np.zeros((first[-1] + 2 - lo, bins), dtype=stft.dtype)
        frames[: min(n_in, first[-1] + 2) - lo] = stft[:, lo:first[-1] + 2].T
        left, right = first - lo, first - lo + 1
        magnitude, angle = np.abs(frames), np.angle(frames)
        # (1 - alpha) * |left| + alpha * |right|, in float64 as librosa's float64 alpha makes it
        alpha = np.mod(chunk, 1.0)[:, None]
        mag = magnitude[left].astype(np.float64)
        mag *= 1.0 - alpha
        mag += alpha * magnitude[right]
        # the phase advance less its expected part, wrapped to [-pi, pi], plus the expected part
        dphase = (angle[right] - angle[left]) - advance
        wraps = dphase / (2.0 * np.pi)
        np.round(wraps, out=wraps)
        wraps *= 2.0 * np.pi
        dphase -= wraps
        dphase += advance
        phases = np.empty((len(chunk), bins), dtype=phase.dtype)
        for t in range(len(chunk)):  # float32 += float64, frame after frame: librosa's rounding
            phases[t] = phase
            phase += dphase[t]
        out[start:start + len(chunk)] = librosa.util.phasor(phases, mag=mag)
    return out.T


def time_stretch(samples: np.ndarray, *, rate: float) -> np.ndarray:
    """``librosa.effects.time_stretch(samples, rate=rate)`` for mono float32 ``samples``:
    ``round(len(samples) / rate)`` samples, the same bytes."""
    import librosa

    stretched = phase_vocoder(librosa.stft(samples), rate=rate)
    return librosa.istft(stretched, dtype=samples.dtype, length=int(round(samples.shape[-1] / rate)))
