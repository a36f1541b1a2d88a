"""The audit of one original (levels, clipping, fingerprint) and the quality gate on it.

Measured from the samples a decode already yields, block by block, so that an
hour-long file costs no extra memory. Levels are dBFS of sample values (full scale
1.0). Digital silence has no level in dB: it is ``None`` in the record and ``null``
in JSON, which admits no -inf; the gate reads ``None`` as silence.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import soundfile as sf

from ..errors import AudioFileError
from ..io.audio_io import AudioProbe, open_audio, probe_audio, read_blocks, read_mono
from .fingerprint import MAX_SECONDS, fingerprint

#: The gate's defaults, one place each (front ends and docs/step1-pool.md quote them from here).
#: -60 dBFS: 30 dB above the least significant bit of 16-bit audio (-90 dBFS), so that
#: placeholders of dither or rounding noise are caught, and 30 dB or more below the
#: peak of any recording that holds a call (the test corpus peaks at -22 to -2 dBFS,
#: -12 dB of gain included).
MIN_PEAK_DBFS = -60.0
#: 0.1 s: about 4 frames of step 3's default spectrogram (hop 23 ms); a shorter file
#: fills under 1.3 % of its 8 s window and is most often a cut-off or a placeholder.
MIN_DURATION_S = 0.1
#: A sample at or beyond this magnitude counts as clipped: the largest 16-bit value
#: (32767 / 32768) and beyond.
CLIP_LEVEL = 1.0 - 2.0**-15
_DB_DECIMALS = 2


def dbfs(amplitude: float) -> float | None:
    """``20 log10(amplitude)`` rounded to 0.01 dB; ``None`` for 0 (digital silence)."""
    return round(20.0 * math.log10(amplitude), _DB_DECIMALS) if amplitude > 0 else None


@dataclass(frozen=True, kw_only=True)
class Audit:
    """What one original holds. ``None`` levels mean every sample is zero."""

    frames: int
    samplerate: int
    channels: int
    peak_dbfs: float | None
    rms_dbfs: float | None
    clipped_fraction: float  # of all samples, every channel counted
    nonfinite_samples: int  # NaN or infinity: the file is unusable
    fingerprint: str  # Fingerprint.to_text() of the first MAX_SECONDS

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (no NaN, no infinity), ``duration`` included for readers."""
        return {"duration": round(self.duration, 6), **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audit:
        """The inverse of ``to_dict``; ``ValueError`` names a missing field."""
        try:
            return cls(frames=int(data["frames"]), samplerate=int(data["samplerate"]),
                       channels=int(data["channels"]), peak_dbfs=_maybe_float(data["peak_dbfs"]),
                       rms_dbfs=_maybe_float(data["rms_dbfs"]),
                       clipped_fraction=float(data["clipped_fraction"]),
                       nonfinite_samples=int(data["nonfinite_samples"]), fingerprint=str(data["fingerprint"]))
        except KeyError as exc:
            raise ValueError(f"audit record lacks {exc.args[0]!r}") from None


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)


class AuditBuilder:
    """Accumulates an ``Audit`` over the blocks of one decode, in order.

    Keeps the first ``MAX_SECONDS`` of the mono mix for the fingerprint and running
    sums for the rest, so memory stays flat whatever the file's length.
    """

    def __init__(self, samplerate: int, channels: int):
        self.samplerate, self.channels = samplerate, channels
        self.frames = self.clipped = self.nonfinite = 0
        self.peak = self.sum_squares = 0.0
        self._head: list[np.ndarray] = []
        self._head_left = int(MAX_SECONDS * samplerate)

    def add(self, block: np.ndarray, *, scale: float = 1.0) -> None:
        """One block of samples, ``(n, channels)`` or ``(n,)`` for mono, in order.

        ``scale`` turns integer samples into full-scale floats: ``2**-31`` for the
        int32 blocks that ``probe_audio`` decodes PCM into.
        """
        block = np.asarray(block).reshape(len(block), -1)
        if np.issubdtype(block.dtype, np.integer):
            self._add_integers(block, scale)
            return
        block = block.astype(np.float32, copy=False)
        if scale != 1.0:
            block = block * np.float32(scale)
        finite = np.isfinite(block)
        if not finite.all():
            self.nonfinite += int(block.size - finite.sum())
            block = np.where(finite, block, np.float32(0.0))
        magnitude = np.abs(block)
        self.frames += len(block)
        if block.size:
            self.peak = max(self.peak, float(magnitude.max()))
        self.sum_squares += float(np.einsum("ij,ij->", block, block, dtype=np.float64))
        self.clipped += int(np.count_nonzero(magnitude >= CLIP_LEVEL))
        self._keep_head(block)

    def _add_integers(self, block: np.ndarray, scale: float) -> None:
        """``add`` for integer PCM: integers are finite, so no check and no full-scale copy.

        The same numbers as the float path: ``scale`` is a power of two, the peak and the
        clipping are taken on the samples' float32 values (rounding is monotonic, so the
        largest magnitude rounds to the largest rounded one), and the squares of float32
        values are exact in float64. 16-bit samples are squared and summed in float64
        directly: their squares are integers there, so every partial sum is exact while a
        file holds under 2**23 samples at full scale, in any order.
        """
        self.frames += len(block)
        if block.size:
            top = float(np.float32(max(int(block.max()), -int(block.min()))))
            self.peak = max(self.peak, top * float(np.float32(scale)))
            if top * scale >= CLIP_LEVEL:  # rare: count only then
                values = np.abs(block.astype(np.float32)) * np.float32(scale)
                self.clipped += int(np.count_nonzero(values >= CLIP_LEVEL))
        if block.dtype.itemsize <= 2:
            flat = block.reshape(-1).astype(np.float64)
            squares = float(flat @ flat)
        else:
            values = block.astype(np.float32)  # what the float path scales: one rounding, the same
            squares = float(np.einsum("ij,ij->", values, values, dtype=np.float64))
        self.sum_squares += squares * (scale * scale)
        if self._head_left > 0:
            head = block[: self._head_left]
            if head.shape[1] == 1:  # mono: one scaling pass, no mix
                self._head.append(np.multiply(head[:, 0], np.float32(scale), dtype=np.float32))
                self._head_left -= len(head)
            else:
                self._keep_head(head.astype(np.float32) * np.float32(scale))

    def _keep_head(self, block: np.ndarray) -> None:
        """The mono mix of the first ``MAX_SECONDS``, for the fingerprint (full-scale float32)."""
        if self._head_left > 0:
            head = block[: self._head_left]
            self._head.append(head.mean(axis=1, dtype=np.float32) if head.shape[1] > 1 else head[:, 0].copy())
            self._head_left -= len(head)

    def finish(self) -> Audit:
        samples = self.frames * self.channels
        rms = math.sqrt(self.sum_squares / samples) if samples else 0.0
        head = np.concatenate(self._head) if self._head else np.zeros(0, dtype=np.float32)
        return Audit(frames=self.frames, samplerate=self.samplerate, channels=self.channels,
                     peak_dbfs=dbfs(self.peak), rms_dbfs=dbfs(rms),
                     clipped_fraction=self.clipped / samples if samples else 0.0,
                     nonfinite_samples=self.nonfinite,
                     fingerprint=fingerprint(head, self.samplerate).to_text())


def audit_samples(samples: np.ndarray, samplerate: int) -> Audit:
    """The audit of decoded samples: float ``(frames,)`` or ``(frames, channels)``."""
    samples = np.asarray(samples)
    builder = AuditBuilder(samplerate, 1 if samples.ndim == 1 else samples.shape[1])
    builder.add(samples)
    return builder.finish()


def audit_file(path: str | os.PathLike, *, blocksize: int = 1 << 16) -> Audit:
    """Decode a file block by block and audit it; ``AudioFileError`` if it cannot be read."""
    with open_audio(path) as f:
        builder = AuditBuilder(f.samplerate, f.channels)
        try:
            for block in read_blocks(f, blocksize, "float32"):
                builder.add(block)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioFileError(str(path), f"corrupt audio data ({exc})") from None
    return builder.finish()


def fingerprint_file(path: str | os.PathLike) -> str:
    """The fingerprint text of a file's first ``MAX_SECONDS`` (for pools that lack it)."""
    with open_audio(path) as f:
        samplerate = f.samplerate
    samples, _ = read_mono(path, frames=int(MAX_SECONDS * samplerate))
    return fingerprint(samples, samplerate).to_text()


def probe_and_audit(path: str | os.PathLike) -> tuple[AudioProbe, Audit]:
    """``probe_audio`` and the file's audit, from one decode; ``AudioFileError`` if unusable."""
    builders: list[AuditBuilder] = []

    def start(samplerate: int, channels: int) -> Callable[..., None]:
        builders.append(AuditBuilder(samplerate, channels))
        return builders[0].add

    probe = probe_audio(path, sink=start)
    return probe, builders[0].finish()


def gate_reason(audit: Audit, *, min_peak_dbfs: float = MIN_PEAK_DBFS,
                min_duration: float = MIN_DURATION_S) -> str | None:
    """Why an original must not enter the pool, with what was measured; ``None`` if it may.

    Checked in order of gravity: non-finite samples, digital silence, near-silence,
    too short.
    """
    if audit.nonfinite_samples:
        return f"holds {audit.nonfinite_samples} non-finite samples (NaN or infinity)"
    if audit.peak_dbfs is None:
        return f"digital silence: every sample of its {audit.duration:.3f} s is zero"
    if audit.peak_dbfs < min_peak_dbfs:
        return (f"near-silent: peak {audit.peak_dbfs:.1f} dBFS (RMS {audit.rms_dbfs:.1f} dBFS) "
                f"is below --min-peak-dbfs {min_peak_dbfs:g}")
    if audit.duration < min_duration:
        return f"too short: {audit.duration:.3f} s is below --min-duration {min_duration:g} s"
    return None
