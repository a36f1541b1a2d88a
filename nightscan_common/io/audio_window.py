"""Reading one fixed-length window of a recording (start, center or loudest), mono, resampled.

Only the frames the window needs are decoded (plus a short margin that lets the
resampler's filter settle), so the result equals resampling the whole file and then
cutting, to within float rounding, and a 30-minute file costs what an 8 s one does.
``loudest`` needs one streaming pass over the file to find the window; memory stays
flat whatever the file's length.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from ..errors import AudioFileError
from ..io.audio_io import (
    decode_error,
    mix_to_mono,
    open_audio,
    read_blocks,
    read_mono,
    resample,
    wav_truncation,
)

#: Extra native frames read beyond each end of a window: soxr's HQ filter reaches
#: a few hundred frames; less than this changes the window's edge samples.
MARGIN_SECONDS = 0.05
MIN_MARGIN_FRAMES = 1024
_ENERGY_BLOCK_FRAMES = 1 << 16
#: The band share's spectrum: frames of this many native samples (4096: 8 ms at 500 kHz,
#: 122 Hz bins; 186 ms at 22,050 Hz, 5 Hz bins), this many frames per FFT call.
_SHARE_FRAME = 4096
_SHARE_CHUNK = 256


@dataclass(frozen=True, kw_only=True)
class WindowChoice:
    """Where a window was taken: its first sample and the file's length, at the output rate.

    ``padded`` counts the samples added at the end of a clip shorter than the window
    (zeros, or the clip again with ``pad="repeat"``: then 0 samples are silence).
    ``band_share`` is the share of the window's energy, at the native rate (before the
    resampling drops what lies above the output's Nyquist frequency), that lies within
    the band asked for; ``median_hz`` the frequency below which half of it lies. Both
    are None without a band, or for a silent window.
    """

    start: int
    total: int
    native_samplerate: int
    padded: int
    silent_padding: int
    band_share: float | None = None
    median_hz: float | None = None

    def to_dict(self, sample_rate: int) -> dict[str, float | int | None]:
        return {"start_sample": self.start, "start_seconds": self.start / sample_rate,
                "length_samples": self.total, "native_samplerate": self.native_samplerate,
                "padded_samples": self.padded, "silent_padding_samples": self.silent_padding,
                "band_share": self.band_share, "median_hz": self.median_hz}


def read_window(
    path: str | os.PathLike,
    *,
    sample_rate: int,
    n_samples: int,
    crop: str = "start",
    hop_length: int = 512,
    band: tuple[float, float] | None = None,
    pad: str = "zero",
) -> np.ndarray:
    """The ``n_samples`` window of a recording, mono float32 at ``sample_rate`` Hz.

    ``crop`` picks where: ``start`` (the first samples), ``center`` (the middle) or
    ``loudest`` (the window with the most energy, searched in steps of ``hop_length``
    samples; within ``band`` (fmin, fmax) Hz when given, else over all frequencies).
    A shorter recording is padded at the end: zeros, or the clip repeated
    (``pad="repeat"``). ``AudioFileError`` when the file is missing, unreadable, empty or
    holds non-finite samples.
    """
    return read_window_choice(path, sample_rate=sample_rate, n_samples=n_samples, crop=crop,
                              hop_length=hop_length, band=band, pad=pad)[0]


def read_window_choice(
    path: str | os.PathLike, *, sample_rate: int, n_samples: int, crop: str = "start",
    hop_length: int = 512, band: tuple[float, float] | None = None, pad: str = "zero",
) -> tuple[np.ndarray, WindowChoice]:
    """``read_window``, and where the window was taken (``WindowChoice``)."""
    total, native_sr = _frames_and_rate(path)
    total_out = _ceil_div(total * sample_rate, native_sr)  # length once resampled
    if crop == "start" or total_out <= n_samples:
        start = 0
    elif crop == "center":
        start = (total_out - n_samples) // 2
    elif crop == "loudest":
        native_start = loudest_window_start(
            path, window_frames=_ceil_div(n_samples * native_sr, sample_rate),
            hop_frames=max(1, round(hop_length * native_sr / sample_rate)), band=band)
        start = min(native_start * sample_rate // native_sr, total_out - n_samples)
    else:
        raise ValueError(f"crop must be start, center or loudest, got {crop!r}")
    window, native = _read_resampled(path, start=start, n_samples=n_samples, native_sr=native_sr,
                                     sample_rate=sample_rate)
    if not np.isfinite(window).all():
        raise AudioFileError(str(path), "holds non-finite samples (NaN or infinity)")
    padded = max(0, n_samples - len(window))
    silent = padded
    if padded and pad == "repeat" and window.any():
        window, silent = np.resize(window, n_samples), 0  # the clip again, as often as it takes
    elif padded:
        window = np.concatenate((window, np.zeros(padded, dtype=np.float32)))
    share, median = band_share(native, native_sr, band) if band is not None else (None, None)
    return window, WindowChoice(start=start, total=total_out, native_samplerate=native_sr, padded=padded,
                                silent_padding=silent, band_share=share, median_hz=median)


def band_share(mono: np.ndarray, samplerate: int,
               band: tuple[float, float]) -> tuple[float | None, float | None]:
    """Share of ``mono``'s energy within ``band`` (fmin, fmax) Hz, and its median frequency in Hz.

    The power spectrum of Hann-windowed frames of ``_SHARE_FRAME`` samples, summed over
    every frame (a bat's calls of a few ms are all counted). ``(None, None)`` for silence.
    """
    import scipy.fft  # here: the parent of step 3 has it imported before its workers fork

    n = min(_SHARE_FRAME, len(mono))
    if n == 0:
        return None, None
    frames = -(-len(mono) // n)
    padded = np.zeros(frames * n, dtype=np.float32)
    padded[: len(mono)] = mono
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n) if n > 1 else np.ones(1)).astype(np.float32)
    power = np.zeros(n // 2 + 1)
    # float32 frames through scipy's FFT, several at once in SIMD registers: 1.4x faster than
    # float64 through numpy's in a worker, and the rounded share and median the same
    for first in range(0, frames, _SHARE_CHUNK):
        block = padded[first * n:(first + _SHARE_CHUNK) * n].reshape(-1, n) * window
        spectrum = scipy.fft.rfft(block, axis=1)
        power += (np.square(spectrum.real) + np.square(spectrum.imag)).sum(axis=0, dtype=np.float64)
    total = float(power.sum())
    if not total > 0:
        return None, None
    freqs = np.fft.rfftfreq(n, 1.0 / samplerate)
    inside = float(power[(freqs >= band[0]) & (freqs <= band[1])].sum())
    median = float(freqs[min(len(freqs) - 1, int(np.searchsorted(np.cumsum(power), total / 2)))])
    return round(inside / total, 4), round(median, 1)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _frames_and_rate(path: str | os.PathLike) -> tuple[int, int]:
    """Frames and sample rate from the header; ``AudioFileError`` for an unusable file.

    A WAV file cut short (a broken copy) is refused as step 1 refuses it.
    """
    with open_audio(path) as f:
        frames, rate = f.frames, f.samplerate
        truncated = wav_truncation(path, fmt=f.format, subtype=f.subtype, channels=f.channels,
                                   frames=frames)
    if frames <= 0:
        raise AudioFileError(str(path), "holds no samples")
    if truncated:
        raise AudioFileError(str(path), truncated)
    return frames, rate


def _read_resampled(
    path: str | os.PathLike, *, start: int, n_samples: int, native_sr: int, sample_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """Samples ``[start, start + n_samples)`` of the resampled file, decoding only what they need,
    and the native samples they were made from (the window and a short margin).

    The read begins on a native frame that falls exactly on an output sample (a
    multiple of ``native_sr / gcd``), so the result lines up with a whole-file
    resampling; it may come out shorter at the end of the file.
    """
    g = math.gcd(native_sr, sample_rate)
    step_in, step_out = native_sr // g, sample_rate // g  # step_in frames <-> step_out samples
    margin = max(MIN_MARGIN_FRAMES, math.ceil(MARGIN_SECONDS * native_sr))
    anchor = max(0, start // step_out - _ceil_div(margin, step_in))
    first = anchor * step_in
    last = _ceil_div((start + n_samples) * native_sr, sample_rate) + margin
    mono, _ = read_mono(path, start=first, frames=last - first)
    if len(mono) == 0:
        raise AudioFileError(str(path), "holds no samples")
    out = resample(mono, native_sr, sample_rate)
    out = out[: _ceil_div(len(mono) * sample_rate, native_sr)]  # librosa's length at the end
    skip = start - anchor * step_out
    return out[skip : skip + n_samples], mono


def loudest_window_start(path: str | os.PathLike, *, window_frames: int, hop_frames: int,
                         band: tuple[float, float] | None = None) -> int:
    """Native frame where the ``window_frames`` window with the most energy starts.

    One streaming pass: the energy of the mono mix per ``hop_frames`` frame (within
    ``band`` Hz when given: a loud plane below a bat's band does not win), then a
    sliding sum over whole frames. The earliest of equal windows wins.
    """
    energies = frame_energies(path, hop_frames=hop_frames, band=band)
    per_window = max(1, round(window_frames / hop_frames))
    if len(energies) <= per_window:
        return 0
    cumulative = np.concatenate(([0.0], np.cumsum(energies)))
    sums = cumulative[per_window:] - cumulative[:-per_window]
    return int(np.argmax(sums)) * hop_frames


def _band_energy(frames: np.ndarray, samplerate: int, band: tuple[float, float]) -> np.ndarray:
    """Energy within ``band`` Hz of each row of ``frames``.

    Hann-windowed: a rectangular frame leaks a loud hum below the band into it (its
    side lobes fall 6 dB per octave, a Hann window's 18).
    """
    n = frames.shape[1]
    freqs = np.fft.rfftfreq(n, 1.0 / samplerate)
    keep = (freqs >= band[0]) & (freqs <= band[1])
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
    spectrum = np.fft.rfft(frames * window, axis=1)[:, keep]
    return (np.square(spectrum.real) + np.square(spectrum.imag)).sum(axis=1) / n


def frame_energies(path: str | os.PathLike, *, hop_frames: int,
                   band: tuple[float, float] | None = None) -> np.ndarray:
    """Energy of the mono mix per ``hop_frames`` frames, float64 (last frame partial).

    The sum of squares, or with ``band`` (fmin, fmax) in Hz only the energy of the
    frequencies inside it.
    """
    block = hop_frames * max(1, _ENERGY_BLOCK_FRAMES // hop_frames)
    parts: list[np.ndarray] = []
    done = 0
    with open_audio(path) as f:
        rate = f.samplerate
        try:
            for data in read_blocks(f, block, "float32"):
                mono = mix_to_mono(data)
                whole = len(mono) // hop_frames * hop_frames
                if band is None:
                    squares = np.square(mono, dtype=np.float64)
                    parts.append(squares[:whole].reshape(-1, hop_frames).sum(axis=1))
                    tail = np.array([squares[whole:].sum()])
                else:
                    framed = mono[:whole].astype(np.float64).reshape(-1, hop_frames)
                    parts.append(_band_energy(framed, rate, band))
                    rest = np.zeros((1, hop_frames))
                    rest[0, : len(mono) - whole] = mono[whole:]
                    tail = _band_energy(rest, rate, band)
                if whole < len(mono):  # only the last block is not a whole number of frames
                    parts.append(tail)
                done += len(data)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise decode_error(path, f, done, exc) from None
    if done == 0:
        raise AudioFileError(str(path), "holds no samples")
    return np.concatenate(parts)
