"""Log-mel spectrogram settings (a frozen dataclass; the presets are in ``animals``) and the computation.

The computation is the one NightScan's loader expects: power mel spectrogram (Hann
window, centered frames, zero padding, as librosa 0.11 does by default), decibels
(ref 1.0, amin 1e-10, top_db), then per-spectrogram standardisation. The mel filter
bank and the window are cached per configuration, so a worker builds them once.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any

import librosa
import numpy as np

from ..errors import UsageError

CROPS = ("start", "center", "loudest")
CHANNELS = (1, 3)
DTYPES = ("float32", "float16")
#: How a clip shorter than the window is filled: zeros at the end, or the clip repeated.
PADS = ("zero", "repeat")

#: What every spectrogram shares and no option changes; recorded beside the options.
FIXED_PARAMETERS: dict[str, Any] = {
    "mono": "mean of the channels",
    "resampler": "soxr HQ",
    "window": "hann",
    "center": True,
    "pad_mode": "constant",
    "power": 2.0,
    "mel_scale": "slaney",
    "mel_norm": "slaney",
    "ref": 1.0,
    "amin": 1e-10,
    "standardise": "(x - mean) / (std + 1e-6)",
}
_AMIN = 1e-10
_STD_EPS = 1e-6


@dataclass(frozen=True, kw_only=True)
class SpectrogramConfig:
    """Every setting of one spectrogram; the defaults are the ``general`` preset.

    Frequencies in Hz, ``duration`` and nothing else in seconds, ``top_db`` in dB.
    """

    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 128
    fmin: float = 50.0
    fmax: float = 11000.0
    duration: float = 8.0
    top_db: float = 80.0
    crop: str = "start"
    channels: int = 1
    dtype: str = "float32"
    pad: str = "zero"

    @property
    def n_samples(self) -> int:
        """Samples in the analysed window, at ``sample_rate``."""
        return int(round(self.duration * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """STFT frames of the window (centered frames: one more than whole hops)."""
        return 1 + self.n_samples // self.hop_length

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the saved array: ``(n_mels, n_frames)``, or ``(3, n_mels, n_frames)``."""
        base = (self.n_mels, self.n_frames)
        return base if self.channels == 1 else (self.channels, *base)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpectrogramConfig:
        """Inverse of ``to_dict``; missing fields take their defaults, unknown ones are refused."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(f"unknown spectrogram parameter(s): {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> SpectrogramConfig:
        """A copy with some fields changed (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def validate(self) -> SpectrogramConfig:
        """Raise ``UsageError`` naming the bad value; return ``self`` when usable.

        Checked before any work starts, so that a run of hours never stops on a setting.
        """
        for name in ("sample_rate", "n_fft", "hop_length", "n_mels", "channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"{name} must be a whole number of at least 1, got {value!r}")
        for name in ("fmin", "fmax", "duration", "top_db"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise UsageError(f"{name} must be a finite number, got {value!r}")
        if self.crop not in CROPS:
            raise UsageError(f"crop must be one of {', '.join(CROPS)}, got {self.crop!r}")
        if self.channels not in CHANNELS:
            raise UsageError(f"channels must be 1 or 3, got {self.channels!r}")
        if self.pad not in PADS:
            raise UsageError(f"pad must be one of {', '.join(PADS)}, got {self.pad!r}")
        if self.dtype not in DTYPES:
            raise UsageError(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        self._validate_ranges()
        empty = int((mel_basis(self).max(axis=1) == 0).sum())
        if empty:
            raise UsageError(
                f"{empty} of the n_mels {self.n_mels} mel bands between {self.fmin:g} and "
                f"{self.fmax:g} Hz hold no FFT bin at n_fft {self.n_fft}: use fewer mels, "
                "a wider band or a larger n_fft")
        return self

    def _validate_ranges(self) -> None:
        """The checks between fields: band inside Nyquist, frames that cover the signal."""
        nyquist = self.sample_rate / 2
        if self.duration <= 0:
            raise UsageError(f"duration must be above 0 s, got {self.duration:g}")
        if self.top_db <= 0:
            raise UsageError(f"top_db must be above 0 dB, got {self.top_db:g}")
        if self.fmin < 0:
            raise UsageError(f"fmin must be 0 Hz or more, got {self.fmin:g}")
        if self.fmin >= self.fmax:
            raise UsageError(f"fmin ({self.fmin:g} Hz) must be below fmax ({self.fmax:g} Hz)")
        if self.fmax > nyquist:
            raise UsageError(
                f"fmax {self.fmax:g} Hz is above the Nyquist frequency {nyquist:g} Hz "
                f"(half the sample rate {self.sample_rate} Hz): lower fmax or raise sample_rate")
        if self.n_fft < self.hop_length:
            raise UsageError(f"n_fft ({self.n_fft}) must be at least hop_length "
                             f"({self.hop_length}), or frames would skip samples")
        if self.n_samples < self.n_fft:
            raise UsageError(f"duration {self.duration:g} s gives {self.n_samples} samples at "
                             f"{self.sample_rate} Hz, fewer than n_fft {self.n_fft}")
        self._validate_sizes()

    def _validate_sizes(self) -> None:
        """Settings whose files or working memory would be absurd are refused with the size."""
        saved = math.prod(self.shape) * np.dtype(self.dtype).itemsize
        if saved > MAX_SPECTROGRAM_BYTES:
            raise UsageError(
                f"duration {self.duration:g} s at hop_length {self.hop_length} gives spectrograms of "
                f"{' x '.join(map(str, self.shape))} = {saved / 1e6:.6g} MB per file, more than "
                f"{MAX_SPECTROGRAM_BYTES / 1e6:g} MB: raise hop_length or shorten duration")
        stft = (self.n_fft // 2 + 1) * self.n_frames * np.dtype(np.complex64).itemsize
        if stft > MAX_STFT_BYTES:
            raise UsageError(
                f"n_fft {self.n_fft} over {self.n_frames} frames takes {stft / 1e9:.3g} GB of STFT per "
                f"file, more than {MAX_STFT_BYTES / 1e9:g} GB: raise hop_length, lower n_fft or "
                "shorten duration")


#: The largest spectrogram one file may hold (the bat preset's is 3 MB; 3 channels, 9 MB).
MAX_SPECTROGRAM_BYTES = 64e6
#: The largest STFT one file may need in memory (the bat preset's is 25 MB).
MAX_STFT_BYTES = 1e9

def mel_basis(config: SpectrogramConfig) -> np.ndarray:
    """The mel filter bank, ``(n_mels, 1 + n_fft // 2)`` float32, read-only and cached."""
    return _mel_basis(config.sample_rate, config.n_fft, config.n_mels, float(config.fmin),
                      float(config.fmax))


@functools.lru_cache(maxsize=8)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    with warnings.catch_warnings():  # empty bands are reported by validate()
        warnings.simplefilter("ignore", UserWarning)
        basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    basis = np.ascontiguousarray(basis, dtype=np.float32)
    basis.setflags(write=False)
    return basis


@functools.lru_cache(maxsize=8)
def hann_window(n_fft: int) -> np.ndarray:
    """Periodic Hann window (librosa's ``fftbins=True``), float32, read-only and cached."""
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)
    window.setflags(write=False)
    return window


def log_mel_spectrogram(samples: np.ndarray, config: SpectrogramConfig) -> np.ndarray:
    """Standardised log-mel spectrogram of one mono window.

    Parameters
    ----------
    samples : np.ndarray [shape=(n,), float32]
        Mono signal at ``config.sample_rate`` Hz, amplitudes in [-1, 1]. A signal
        shorter than ``config.n_samples`` is zero-padded at the end, a longer one cut.
    config : SpectrogramConfig
        The settings; ``config.validate()`` is assumed to have passed.

    Returns
    -------
    np.ndarray [shape=config.shape, dtype=config.dtype]
        ``(n_mels, n_frames)``, or ``(3, n_mels, n_frames)`` (three identical copies)
        with ``channels=3``; zero mean and unit variance (a silent window gives zeros).
        The general preset gives ``(128, 345)`` float32.
    """
    y = _fit_length(np.asarray(samples, dtype=np.float32), config.n_samples)
    stft = librosa.stft(y, n_fft=config.n_fft, hop_length=config.hop_length,
                        window=hann_window(config.n_fft), center=True, pad_mode="constant")
    power = np.square(stft.real)
    power += np.square(stft.imag)
    mel = mel_basis(config) @ power  # (n_mels, n_frames), power
    _power_to_db_inplace(mel, top_db=config.top_db)
    spec = _standardise(mel)
    if config.channels == 3:
        spec = np.stack((spec, spec, spec))
    return spec.astype(config.dtype, copy=False)


def _fit_length(y: np.ndarray, n: int) -> np.ndarray:
    """Cut to ``n`` samples, or zero-pad at the end."""
    if len(y) >= n:
        return y[:n]
    return np.concatenate((y, np.zeros(n - len(y), dtype=y.dtype)))


def _power_to_db_inplace(power: np.ndarray, *, top_db: float) -> None:
    """librosa's ``power_to_db(ref=1.0, amin=1e-10, top_db)``, without the copies."""
    np.maximum(power, _AMIN, out=power)
    np.log10(power, out=power)
    power *= 10.0
    np.maximum(power, power.max() - top_db, out=power)


def _standardise(x: np.ndarray) -> np.ndarray:
    """``(x - mean) / (std + 1e-6)`` in place; the epsilon keeps a silent window finite."""
    mean = x.mean()
    std = x.std()
    x -= mean
    x /= std + _STD_EPS
    return x
