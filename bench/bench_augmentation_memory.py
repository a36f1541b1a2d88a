"""Peak memory of each augmentation type, in bytes per frame of the original (--max-memory's table).

Usage: python bench/bench_augmentation_memory.py [--seconds 20] [--samplerate 48000]
Measured with tracemalloc (numpy's buffers are traced) on a mono clip of noise; the
output is the peak of the allocations the type makes, over the clip's frames.
"""

from __future__ import annotations

import argparse
import sys
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nightscan_common.dsp.augmentations import AUGMENTATION_TYPES, apply_augmentation  # noqa: E402
from nightscan_common.dsp.synthetic import write_recording  # noqa: E402


def peak_bytes_per_frame(name: str, samples: np.ndarray, sr: int, folders: dict, animal: str) -> float:
    apply_augmentation(name, samples[: sr // 2], sr, seed=0, animal=animal, **folders)  # build, compile
    tracemalloc.start()
    apply_augmentation(name, samples, sr, seed=1, animal=animal, **folders)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / len(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--samplerate", type=int, default=48000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/nightscan-bench-memory"))
    args = parser.parse_args()
    sr = args.samplerate
    write_recording(args.work / "bg" / "rain.wav", call="noise_bursts", seconds=args.seconds + 1,
                    samplerate=sr)
    write_recording(args.work / "short" / "drop.wav", call="clicks", seconds=0.3, samplerate=sr)
    folders = {"background_dir": str(args.work / "bg"), "short_noise_dir": str(args.work / "short")}
    samples = (0.1 * np.random.default_rng(0).standard_normal(int(args.seconds * sr))).astype(np.float32)
    print(f"{'type':16} bytes/frame (recorded)")
    for name, kind in AUGMENTATION_TYPES.items():
        animal = "bat" if name == "air_absorption" else "general"
        measured = peak_bytes_per_frame(name, samples, sr, folders, animal)
        print(f"{name:16} {measured:6.1f} ({kind.bytes_per_frame})")


if __name__ == "__main__":
    main()
