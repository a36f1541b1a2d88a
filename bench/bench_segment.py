#!/usr/bin/env python3
"""Benchmark of step 1's --segment: a 30-minute 48 kHz recording cut into 8 s windows.

Writes a 30-minute and an 8 s mono 16-bit recording (48 kHz) to a temporary folder and
runs create_augmented_pool.py with ``--segment 8`` on each, in a subprocess, one worker:
the 30-minute file gives 225 windows, the 8 s file one original. Memory must stay flat:
the peak resident memory of the parent and of the worker, long against short (aim:
under 1.2x), and the speed in windows per second (wall time, and wall time beyond the
8 s run's, which is start-up and the checks).

    python bench/bench_segment.py                 # 30 minutes
    python bench/bench_segment.py --minutes 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from measure import measure  # noqa: E402

RATE = 48000
SEGMENT_S = 8
MEMORY_RATIO_AIM = 1.2


def write_recording(path: Path, seconds: float) -> None:
    """Quiet noise with a call every 5 s, written block by block (flat memory here too)."""
    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as f:
        left = int(seconds * RATE)
        while left:
            n = min(left, 60 * RATE)
            block = 0.01 * rng.standard_normal(n)
            t = np.arange(n) / RATE
            block += 0.3 * np.sin(2 * np.pi * 3000 * t) * (t % 5 < 0.2)
            f.write(block.astype(np.float32))
            left -= n


def run(base: Path, name: str, seconds: float):
    audio = base / name / "audio"
    write_recording(audio / "night" / "rec.wav", seconds)
    windows = max(1, -(-int(seconds) // SEGMENT_S))
    argv = [sys.executable, str(ROOT / "create_augmented_pool.py"), "--audio-root", str(audio),
            "--output-dir", str(base / name / "pool"), "--segment", str(SEGMENT_S),
            "--target-samples", str(windows), "--num-workers", "1", "-q"]
    return measure(name, argv, output=base / name / "pool", files=windows), argv


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nightscan-segment-") as tmp:
        short, _ = run(Path(tmp), "short", SEGMENT_S)
        long, argv = run(Path(tmp), "long", args.minutes * 60)
    print("command: python " + " ".join([Path(argv[1]).name, *argv[2:]]).replace(tmp, "TMP"))
    print(f"{'run':<10}{'windows':>8}{'wall s':>8}{'parent MB':>11}{'worker MB':>11}{'written MB':>12}")
    for m in (short, long):
        print(f"{m.name:<10}{m.files:>8}{m.wall:>8.1f}{m.parent_peak_mb:>11.0f}{m.worker_peak_mb:>11.0f}"
              f"{m.bytes_written / 1e6:>12.0f}")
    parent, worker = long.parent_peak_mb / short.parent_peak_mb, long.worker_peak_mb / short.worker_peak_mb
    print(f"peak memory, long / short: parent {parent:.2f}x, worker {worker:.2f}x "
          f"(aim: < {MEMORY_RATIO_AIM}x)")
    print(f"speed: {long.files / long.wall:.1f} windows/s overall, "
          f"{(long.files - 1) / max(1e-9, long.wall - short.wall):.1f} windows/s beyond start-up")
    return 0 if max(parent, worker) < MEMORY_RATIO_AIM else 1


if __name__ == "__main__":
    sys.exit(main())
