"""Decoding, checking and writing audio through soundfile (libsndfile), resampling with soxr."""

from __future__ import annotations

import io
import math
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from ..errors import AudioFileError
from .atomic_write import write_bytes
from .file_hash import file_sha256

_BLOCK_FRAMES = 1 << 16
#: Peak that written PCM never exceeds: PCM_16 clips anything above 1.0 silently.
PCM_PEAK_LIMIT = 0.999


@dataclass(frozen=True, kw_only=True)
class AudioProbe:
    """What a full check of one audio file found."""

    frames: int
    samplerate: int
    channels: int
    format: str
    subtype: str
    sha256: str
    peak: float

    @property
    def duration(self) -> float:
        return self.frames / self.samplerate


def open_audio(path: str | os.PathLike) -> sf.SoundFile:
    """Open for reading, turning every failure into an ``AudioFileError`` with a reason."""
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise AudioFileError(str(path), f"cannot be read ({exc.strerror or exc})") from None
    if size == 0:
        raise AudioFileError(str(path), "empty file (0 bytes)")
    try:
        return sf.SoundFile(path)
    except sf.LibsndfileError as exc:
        raise AudioFileError(str(path), f"not a readable audio file ({_why_unreadable(path, exc)})") from None
    except (OSError, RuntimeError) as exc:
        raise AudioFileError(str(path), f"cannot be opened ({exc})") from None


def _why_unreadable(path: str | os.PathLike, exc: sf.LibsndfileError) -> str:
    """libsndfile's reason, unless it misleads: for a regular file it says "not a regular
    file (possibly a pipe?)" when it finds no audio format at all, an ID3-only MP3 included."""
    if "regular file" not in exc.error_string or not os.path.isfile(path):
        return exc.error_string
    with open(path, "rb") as fh:
        head = fh.read(10)
    if len(head) == 10 and head[:3] == b"ID3":
        size = sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
        end = 10 + size + (10 if head[5] & 0x10 else 0)
        if os.path.getsize(path) <= end:
            return f"an ID3 tag of {end} bytes and no audio after it"
        return "an ID3 tag, then no audio stream that libsndfile can decode"
    return "no audio format that libsndfile recognises"


def _wav_declared_frames(path: str | os.PathLike, block_align: int) -> int | None:
    """Frames that a RIFF/WAVE header's data chunk declares, or None if not a plain WAV.

    libsndfile quietly shortens a truncated WAV to what the file holds; comparing with
    the header is how a cut-off download or copy is told apart from a short recording.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return None
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"data":
                if size in (0, 0xFFFFFFFF):  # streaming writers leave it unset
                    return None
                return size // block_align if block_align else None
            fh.seek(size + (size & 1), os.SEEK_CUR)


#: Called with (samplerate, channels) when a probe opens its file; returns what takes each
#: decoded block with its scale to full-scale floats (see ``probe_audio``).
BlockSink = Callable[[int, int], Callable[..., None]]


#: Encodings whose header libsndfile reads but whose samples it cannot decode (its DWVW
#: reader fails on its first read, "Internal psf_fseek() failed"), whatever the file holds.
UNDECODABLE_SUBTYPES = frozenset({"DWVW_12", "DWVW_16", "DWVW_24", "DWVW_N"})


def decode_error(path: str | os.PathLike, f: sf.SoundFile, frames: int, exc: Exception) -> AudioFileError:
    """The error of a decode that failed after ``frames`` frames: a file libsndfile opens but whose
    encoding it cannot decode at all (DWVW in AIFF) is said so, not called corrupt."""
    if f.subtype in UNDECODABLE_SUBTYPES:
        return AudioFileError(str(path), f"libsndfile opens it ({f.format}, {f.subtype}) but cannot "
                                         f"decode its samples ({exc}); convert it to WAV or FLAC, e.g. "
                                         "with ffmpeg or sox")
    return AudioFileError(str(path), f"corrupt audio data after {frames} frames ({exc})")


def probe_audio(path: str | os.PathLike, *, sink: BlockSink | None = None) -> AudioProbe:
    """Decode a whole file block by block to prove it usable; raise ``AudioFileError``.

    Catches what a header read misses: a truncated file, a corrupt stream part-way,
    a file that holds no samples. Memory stays flat whatever the file's length.
    ``sink`` sees every block of that one decode (``add(block, scale=...)``), so that
    measuring a file (its audit) costs no second decode.
    """
    with open_audio(path) as f:
        sha = file_sha256(path)
        samplerate, channels = f.samplerate, f.channels
        add = sink(samplerate, channels) if sink is not None else None
        fmt, subtype, header_frames = f.format, f.subtype, f.frames
        dtype, scale = _decode_type(subtype)
        frames, peak = 0, 0.0
        try:
            for block in read_blocks(f, _BLOCK_FRAMES, dtype):
                if add is not None:
                    add(block, scale=scale)
                # max and min avoid abs(), which overflows int32's minimum
                hi, lo = float(block.max()), float(block.min())
                if not (math.isfinite(hi) and math.isfinite(lo)):  # max() would pass a NaN over
                    raise AudioFileError(str(path), "holds non-finite samples (NaN or infinity) "
                                         f"after frame {frames}; re-export it")
                frames += len(block)
                peak = max(peak, max(hi, -lo) * scale)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise decode_error(path, f, frames, exc) from None
    if frames == 0:
        raise AudioFileError(str(path), "holds no samples")
    if truncated := wav_truncation(path, fmt=fmt, subtype=subtype, channels=channels, frames=frames):
        raise AudioFileError(str(path), truncated)
    if fmt in ("FLAC", "AIFF") and header_frames > frames:
        raise AudioFileError(
            str(path), f"truncated: the header declares {header_frames} frames, the file holds {frames}"
        )
    return AudioProbe(frames=frames, samplerate=samplerate, channels=channels, format=fmt, subtype=subtype,
                      sha256=sha, peak=peak)


def _decode_type(subtype: str) -> tuple[str, float]:
    """The sample type a check decodes ``subtype`` into, and its scale to full-scale floats.

    Integer PCM decodes 3-5x faster as int32 than as float, and PCM of 16 bits or fewer
    as int16 faster still (a copy, where int32 shifts every sample): the peak is rescaled.
    """
    if subtype in ("PCM_16", "PCM_S8", "PCM_U8"):
        return "int16", 2.0**-15
    if subtype.startswith("PCM_"):
        return "int32", 2.0**-31
    return "float32", 1.0


def wav_truncation(path: str | os.PathLike, *, fmt: str, subtype: str, channels: int,
                   frames: int) -> str | None:
    """Why a WAV file is cut short (its header declares more than ``frames`` frames), or None.

    ``frames`` is what libsndfile reads of it: it quietly stops where the file does.
    """
    if fmt != "WAV" or subtype in ("IMA_ADPCM", "MS_ADPCM", "GSM610"):
        return None
    block_align = channels * _sample_bytes(subtype)
    declared = _wav_declared_frames(path, block_align) if block_align else None
    if declared is not None and declared > frames:
        return f"truncated: the header declares {declared} frames, the file holds {frames}"
    return None


def _sample_bytes(subtype: str) -> int:
    return {"PCM_U8": 1, "PCM_S8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8,
            "ULAW": 1, "ALAW": 1}.get(subtype, 0)


def read_mono(
    path: str | os.PathLike, *, start: int = 0, frames: int = -1
) -> tuple[np.ndarray, int]:
    """Read ``frames`` frames from ``start`` (all by default), averaged to mono.

    Returns ``(samples, samplerate)`` with ``samples`` float32 of shape ``(n,)``. Only
    the requested window is decoded: libsndfile seeks in WAV, FLAC, OGG and MP3. A
    file that cannot seek (GSM 6.10 in AIFF or WAV) is decoded up to ``start`` and
    the frames before it dropped, block by block, so memory stays flat.
    """
    with open_audio(path) as f:
        try:
            if start and f.seekable():
                f.seek(start)
            elif start:
                _skip_frames(f, start)
            if frames < 0:  # to the end, wherever the header says it is
                parts = [mix_to_mono(block) for block in read_blocks(f, _BLOCK_FRAMES, "float32")]
                mono = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
            else:
                mono = mix_to_mono(f.read(frames=frames, dtype="float32", always_2d=True))
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise decode_error(path, f, start if f.seekable() else 0, exc) from None
        samplerate = f.samplerate
    if not np.isfinite(mono).all():  # a NaN would turn every augmentation into DC
        raise AudioFileError(str(path), "holds non-finite samples (NaN or infinity); re-export it")
    return mono, samplerate


def _skip_frames(f: sf.SoundFile, count: int) -> None:
    """Decode and drop ``count`` frames (or up to the end): a seek for unseekable files."""
    buffer = np.empty((min(count, _BLOCK_FRAMES), f.channels), dtype="float32")
    while count > 0 and len(block := f.read(out=buffer[: min(count, len(buffer))])):
        count -= len(block)


def read_blocks(f: sf.SoundFile, blocksize: int, dtype: str) -> Iterator[np.ndarray]:
    """The frames of ``f`` from where it stands to its real end, in blocks.

    Yields ``(n, channels)`` arrays of at most ``blocksize`` frames, views of one
    buffer that the next block overwrites. Unlike ``SoundFile.blocks``, which counts
    down the header's frame count and yields stale buffers once the data runs out,
    it stops when the decoder has nothing more: a corrupt MP3 header that claims
    billions of frames would otherwise keep it busy for hours.
    """
    buffer = np.empty((blocksize, f.channels), dtype=dtype)
    while len(block := f.read(out=buffer)):
        yield block


def mix_to_mono(data: np.ndarray) -> np.ndarray:
    """The mean of the channels of a ``(frames, channels)`` float32 block, as a new array.

    Summed column by column: ``data.mean(axis=1)`` reduces along the short axis and is
    20 times slower on stereo, for the same result.
    """
    mono = data[:, 0].copy()
    for channel in range(1, data.shape[1]):
        mono += data[:, channel]
    if data.shape[1] > 1:
        mono /= np.float32(data.shape[1])
    return mono


def preload_resampler() -> None:
    """Import soxr now: in a parent about to fork its workers, once for all of them."""
    import soxr  # noqa: F401


def resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample a mono float32 signal with soxr (high quality), a no-op at equal rates."""
    if orig_sr == target_sr:
        return samples
    import soxr  # here: a step that never resamples does not load it

    return soxr.resample(samples, orig_sr, target_sr, quality="HQ").astype(np.float32, copy=False)


def clip_guard(samples: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale a signal down so that its peak stays below ``PCM_PEAK_LIMIT``.

    Returns the signal and the gain applied in dB (0.0 when none was needed), so that
    the caller can record it.
    """
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak <= PCM_PEAK_LIMIT:
        return samples, 0.0
    gain = PCM_PEAK_LIMIT / peak
    return (samples * gain).astype(np.float32), float(20.0 * np.log10(gain))


def write_wav_pcm16(target: str | os.PathLike, samples: np.ndarray, samplerate: int) -> None:
    """Write a mono signal as 16-bit PCM WAV, atomically.

    .. note:: The caller guards against clipping first (see ``clip_guard``); PCM_16
       clips anything above 1.0 without a word.

    Encoded in memory and written by Python, so that a full disk is an ``OSError``
    with its errno: libsndfile reports it as a bare "System error".
    """
    buffer = io.BytesIO()
    sf.write(buffer, samples, samplerate, subtype="PCM_16", format="WAV")
    write_bytes(target, buffer.getvalue())
