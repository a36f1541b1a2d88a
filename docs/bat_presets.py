#!/usr/bin/env python3
"""Draw docs/bat_presets.png: one synthetic 3 ms FM bat call through the bat and bat_fm presets.

    python docs/bat_presets.py        # writes docs/bat_presets.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import librosa
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nightscan_common.dsp.animals import PRESETS  # noqa: E402
from nightscan_common.dsp.spectrogram import log_mel_spectrogram  # noqa: E402

RATE = 192000
CALL_AT_S, CALL_MS, F_START, F_END = 0.5, 3.0, 80000.0, 30000.0
SHOWN_MS = (485.0, 525.0)


def fm_call() -> np.ndarray:
    """A 1 s clip with one downward FM sweep (80 to 30 kHz in 3 ms, Hann-shaped), as many bats call."""
    x = 1e-4 * np.random.default_rng(0).standard_normal(RATE)
    n = int(CALL_MS / 1000 * RATE)
    t = np.arange(n) / RATE
    k = np.log(F_END / F_START) / (CALL_MS / 1000)  # exponential sweep: frequency F_START * exp(k t)
    phase = 2 * np.pi * F_START * (np.exp(k * t) - 1) / k
    start = int(CALL_AT_S * RATE)
    x[start:start + n] += 0.5 * np.hanning(n) * np.sin(phase)
    return x.astype(np.float32)


def main() -> None:
    x = fm_call()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for ax, name in zip(axes, ("bat", "bat_fm"), strict=True):
        c = PRESETS[name]
        spec = log_mel_spectrogram(x, c)
        times = 1000 * np.arange(spec.shape[1]) * c.hop_length / c.sample_rate
        keep = (times >= SHOWN_MS[0]) & (times <= SHOWN_MS[1])
        mels = librosa.mel_frequencies(n_mels=c.n_mels + 2, fmin=c.fmin, fmax=c.fmax)[1:-1] / 1000
        ax.pcolormesh(times[keep], mels, spec[:, keep], shading="nearest", cmap="magma")
        ax.set_title(f"{name}: n_fft {c.n_fft} ({1000 * c.n_fft / c.sample_rate:.1f} ms), "
                     f"hop {c.hop_length} ({1000 * c.hop_length / c.sample_rate:.2f} ms)")
        ax.set_xlabel("time (ms)")
        ax.set_ylabel("frequency (kHz, mel bands)")
    fig.suptitle(f"one {CALL_MS:g} ms FM call, {F_START / 1000:g} to {F_END / 1000:g} kHz, at {RATE} Hz")
    fig.savefig(ROOT / "docs" / "bat_presets.png", dpi=90)


if __name__ == "__main__":
    main()
