"""Windows of a long recording read with seeks and written as WAV files, sample for sample.

A window is read with ``SoundFile.seek`` and ``read(frames=)``: a 30-minute recording
is never decoded whole, and memory stays that of one window. The written file holds
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
from .audio_io import file_sha256, open_audio


def _read(f: sf.SoundFile, window: Window, dtype: str, path: str | os.PathLike) -> np.ndarray:
    try:
        f.seek(window.offset)
        data = f.read(frames=window.frames, dtype=dtype, always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioFileError(str(path), f"corrupt audio data near frame {window.offset} ({exc})") from None
    if len(data) != window.frames:
        raise AudioFileError(str(path), f"holds {len(data)} frames from frame {window.offset}, "
                                        f"not the window's {window.frames}")
    return data


def silent_windows(path: str | os.PathLike, windows: list[Window]) -> set[int]:
    """The indexes of the windows whose every sample is zero (digital silence: a gap, a dead mic)."""
    silent = set()
    with open_audio(path) as f:
        dtype = "int32" if f.subtype.startswith("PCM_") else "float32"
        for w in windows:
            if not _read(f, w, dtype, path).any():
                silent.add(w.index)
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
