"""Shared fixtures: seeded RNG, small synthetic recordings written into tmp_path."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nightscan_common.synthetic import write_recording  # noqa: E402


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def make_audio_root(tmp_path: Path):
    """Build ``tmp_path/audio_root/<class>/rec_NNN.wav`` with the given counts per class.

    ``make_audio_root({"owl": 7, "bat": 25}, seconds=0.5)`` -> the root's path.
    """

    def build(counts: dict[str, int], *, seconds: float = 0.5, samplerate: int = 16000,
              name: str = "audio_root") -> Path:
        root = tmp_path / name
        calls = ["hoots", "sweeps", "clicks", "noise_bursts", "trills"]
        for ci, (cls, n) in enumerate(sorted(counts.items())):
            (root / cls).mkdir(parents=True, exist_ok=True)
            for i in range(n):
                write_recording(root / cls / f"rec_{i:03d}.wav", call=calls[ci % len(calls)],
                                seconds=seconds, samplerate=samplerate, seed=ci * 1000 + i)
        return root

    return build
