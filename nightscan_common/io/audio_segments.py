"""Windows of a long recording read with seeks and written as WAV files, sample for sample.

A window is read with ``SoundFile.seek`` and ``read(frames=)``: a 30-minute recording
is never decoded whole, and memory stays that of one window. A file that cannot seek
(GSM 6.10 in AIFF or WAV) is read in order, as step 3 reads it: the frames before a
window are decoded and dropped, and overlapping windows share what was read. The written file holds
the source's samples exactly: integer PCM is read as int32 and written in the source's
sample width; anything else (float, MP3, Vorbis) as 32-bit float.
"""

from __future__ import annotations

import io
import os

import numpy as np
import soundfile as sf

from ..errors import AudioFileError
from ..vocabulary import Window
from .atomic_write import write_bytes
from .audio_io import decode_error, open_audio
from .file_hash import file_sha256

#: Frames decoded at a time while skipping to a window of an unseekable file.
_SKIP_FRAMES = 1 << 16


class _InOrder:
    """Windows of an unseekable file, offsets increasing: decoded forward, the last window kept
    (overlapping windows share it); a window before the position opens the file again."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = path
        self.f: sf.SoundFile | None = None
        self.at = 0  # the next frame self.f decodes
        self.last: tuple[int, np.ndarray] | None = None  # (offset, frames) of the window before

    def read(self, window: Window, dtype: str) -> np.ndarray:
        start, end = window.offset, window.offset + window.frames
        kept = None
        if self.last is not None and self.last[0] <= start < self.last[0] + len(self.last[1]):
            kept = self.last[1][start - self.last[0]:]
        elif self.f is None or start < self.at:
            self.close()
            self.f, self.at = open_audio(self.path), 0
        begin = start + (len(kept) if kept is not None else 0)
        while self.at < begin and len(block := self.f.read(frames=min(begin - self.at, _SKIP_FRAMES),
                                                           dtype=dtype, always_2d=True)):
            self.at += len(block)
        rest = self.f.read(frames=max(0, end - begin) if self.at == begin else 0, dtype=dtype, always_2d=True)
        self.at += len(rest)
        data = np.concatenate((kept, rest)) if kept is not None else rest
        self.last = (start, data)
        return data

    def close(self) -> None:
        if self.f is not None:
            self.f.close()
            self.f = None


def _read(f: sf.SoundFile, window: Window, dtype: str, path: str | os.PathLike,
          in_order: _InOrder | None = None) -> np.ndarray:
    try:
        if f.seekable():
            f.seek(window.offset)
            data = f.read(frames=window.frames, dtype=dtype, always_2d=True)
        else:
            reader = in_order or _InOrder(path)
            try:
                data = reader.read(window, dtype)
            finally:
                if in_order is None:
                    reader.close()
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise decode_error(path, f, window.offset, exc) from None
    if len(data) != window.frames:
        raise AudioFileError(str(path), f"holds {len(data)} frames from frame {window.offset}, "
                                        f"not the window's {window.frames}")
    return data


def silent_windows(path: str | os.PathLike, windows: list[Window]) -> set[int]:
    """The indexes of the windows whose every sample is zero (digital silence: a gap, a dead mic)."""
    silent = set()
    in_order = _InOrder(path)
    try:
        with open_audio(path) as f:
            dtype = "int32" if f.subtype.startswith("PCM_") else "float32"
            for w in sorted(windows, key=lambda w: w.offset):
                if not _read(f, w, dtype, path, in_order).any():
                    silent.add(w.index)
    finally:
        in_order.close()
    return silent


def _wav_subtype(subtype: str) -> tuple[str, str]:
    """(read dtype, written subtype) that keep the samples exact in a WAV file."""
    if subtype.startswith("PCM_") and sf.check_format("WAV", subtype):
        return "int32", subtype
    if subtype.startswith("PCM_"):
        return "int32", "PCM_32"  # PCM_S8 has no WAV form: widened, exact
    return "float32", "FLOAT"


def write_window(source: str | os.PathLike, target: str | os.PathLike, window: Window) -> dict:
    """Write ``window`` of ``source`` to ``target`` (WAV, atomically); return its probe fields.

    Every channel is kept, at the source's rate; the samples are the source's own.
    """
    with open_audio(source) as f:
        dtype, subtype = _wav_subtype(f.subtype)
        data = _read(f, window, dtype, source)
        samplerate, channels = f.samplerate, f.channels
    buffer = io.BytesIO()
    sf.write(buffer, data, samplerate, subtype=subtype, format="WAV")
    write_bytes(target, buffer.getvalue())
    return {"sha256": file_sha256(target), "frames": window.frames, "samplerate": samplerate,
            "channels": channels}
