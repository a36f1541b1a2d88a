"""A corpus for content fingerprints: one clip in many encodings, and look-alikes that differ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from nightscan_common.dsp.synthetic import individual_call, song

#: soundfile's compression_level for constant-bitrate MP3 -> kbps, by MPEG version:
#: MPEG-1 (32 to 48 kHz) goes up to 320 kbps, MPEG-2 (16 to 24 kHz) up to 160.
MP3_LEVELS = {"mpeg1": {0.0: 320, 0.86: 64}, "mpeg2": {0.0: 160, 0.6: 64}}


def mp3_levels(sr: int) -> dict[float, int]:
    """The compression levels (-> kbps) of the fastest and slowest MP3 at rate ``sr``."""
    return MP3_LEVELS["mpeg1" if sr >= 32000 else "mpeg2"]


def clip(seconds: float = 4.0, sr: int = 44100, seed: int = 1) -> np.ndarray:
    """The clip every encoding is made of: a song, float32 mono."""
    return song(seconds, sr, np.random.default_rng(seed))


def write_encodings(folder: Path, mono: np.ndarray, sr: int) -> list[Path]:
    """Write ``mono`` (at ``sr`` Hz) as every variant a collection holds; return the paths.

    WAV 16 and 24-bit, FLAC, OGG Vorbis, MP3 at 64 and 320 kbps (160 below 32 kHz), resampled to
    8, 16, 44.1 and 48 kHz, gains of -12 and +12 dB (the louder one scaled to stay
    below full scale), and stereo.
    """
    folder.mkdir(parents=True, exist_ok=True)
    out: list[tuple[str, np.ndarray, int, dict]] = [
        ("pcm16.wav", mono, sr, {"subtype": "PCM_16"}),
        ("pcm24.wav", mono, sr, {"subtype": "PCM_24"}),
        ("lossless.flac", mono, sr, {}),
        ("vorbis.ogg", mono, sr, {}),
        *((f"mp3_{kbps}.mp3", mono, sr, {"compression_level": level, "bitrate_mode": "CONSTANT"})
          for level, kbps in mp3_levels(sr).items()),
        ("quiet.wav", mono * 10 ** (-12 / 20), sr, {"subtype": "PCM_16"}),
        ("loud.flac", mono * min(10 ** (12 / 20), 0.99 / float(np.abs(mono).max())), sr, {}),
        ("stereo.wav", np.stack([mono, 0.7 * mono], axis=1), sr, {"subtype": "PCM_16"}),
    ]
    for rate in (8000, 16000, 44100, 48000):
        if rate != sr:
            out.append((f"rate_{rate}.wav", soxr.resample(mono, sr, rate), rate, {"subtype": "PCM_16"}))
    paths = []
    for name, data, rate, options in out:
        path = folder / name
        sf.write(path, data, rate, **options)
        paths.append(path)
    return paths


def calls_of_one_kind(count: int = 50, seconds: float = 3.0, sr: int = 16000) -> list[np.ndarray]:
    """``count`` individuals giving one call type, each with its own seed."""
    return [individual_call(seconds, sr, np.random.default_rng(1000 + i)) for i in range(count)]


def two_songs(seconds: float = 4.0, sr: int = 22050) -> list[np.ndarray]:
    """Two songs of one species: the same syllables in another order and rhythm."""
    return [song(seconds, sr, np.random.default_rng(seed)) for seed in (7, 8)]
