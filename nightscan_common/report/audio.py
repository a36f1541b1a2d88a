"""The report's media: short audio excerpts as WAV data URIs, spectrograms as JPEG data URIs.

Both are embedded in the page so that ``report.html`` plays and shows them from disk
alone; their size is what bounds the page's (see ``EXCERPT_SECONDS``).
"""

from __future__ import annotations

import base64
import io

import numpy as np
import soundfile as sf

#: an excerpt: this many seconds, mono 16-bit PCM at EXCERPT_RATE Hz (at most), 80 kB
EXCERPT_SECONDS = 2.5
EXCERPT_RATE = 16000
#: Windows at a rate above this hold ultrasound: their excerpts play slowed down by
#: TIME_EXPANSION (a bat's 40 kHz call is heard at 4 kHz, as bat detectors' time
#: expansion does), instead of through a filter at EXCERPT_RATE / 2 that keeps none of it.
ULTRASOUND_RATE = 64000
TIME_EXPANSION = 10
#: colour map of the spectrograms: perceptually uniform and readable with colour blindness
SPECTROGRAM_CMAP = "magma"
JPEG_QUALITY = 85


def loudest_start(samples: np.ndarray, *, rate: int, seconds: float = EXCERPT_SECONDS) -> int:
    """Index of the ``seconds``-long stretch of ``samples`` with the most energy (0 if shorter)."""
    n = int(round(seconds * rate))
    if len(samples) <= n:
        return 0
    energy = np.concatenate(([0.0], np.cumsum(samples.astype(np.float64) ** 2)))
    step = max(1, rate // 20)  # search every 50 ms
    starts = np.arange(0, len(samples) - n + 1, step)
    return int(starts[np.argmax(energy[starts + n] - energy[starts])])


def time_expansion(sample_rate: int) -> int:
    """How many times slower an excerpt of a window at ``sample_rate`` Hz plays (1: as recorded)."""
    return TIME_EXPANSION if sample_rate > ULTRASOUND_RATE else 1


def wav_data_uri(samples: np.ndarray, *, rate: int) -> str:
    """``data:audio/wav;base64,...`` of mono float samples, as 16-bit PCM (clipped to full scale)."""
    buffer = io.BytesIO()
    sf.write(buffer, np.clip(samples, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    return "data:audio/wav;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def spectrogram_data_uri(array: np.ndarray) -> str:
    """``data:image/jpeg;base64,...`` of a (n_mels, frames) spectrogram, low bands at the bottom.

    Scaled to its own range; one pixel per band and frame (128 x 345 for the general preset).
    """
    from matplotlib import colormaps  # here: imported only when a spectrogram is drawn
    from PIL import Image

    data = np.asarray(array, dtype=np.float64)
    lo, hi = float(np.min(data)), float(np.max(data))
    scaled = (data - lo) / (hi - lo) if hi > lo else np.zeros_like(data)
    rgb = (colormaps[SPECTROGRAM_CMAP](scaled[::-1])[..., :3] * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
