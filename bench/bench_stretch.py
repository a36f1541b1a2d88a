#!/usr/bin/env python3
"""Benchmark of the time stretch: librosa's against the toolkit's phase vocoder, and their bytes.

An 8 s mono clip (``--seconds``, ``--samplerate``) stretched at the rates of the general
animal type's range, each way in turn (the best of ``--repeat`` runs counts), on one BLAS
thread as in the pool's workers; it says whether every output is byte for byte librosa's.

    python bench/bench_stretch.py
    python bench/bench_stretch.py --samplerate 48000 --repeat 20
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import librosa
import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nightscan_common.dsp.augmentation_steps import TIME_STRETCH_RATE  # noqa: E402
from nightscan_common.dsp.phase_vocoder import time_stretch  # noqa: E402
from nightscan_common.dsp.synthetic import song  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--samplerate", type=int, default=44100)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args(argv)
    threadpool_limits(1)
    x = song(args.seconds, args.samplerate, np.random.default_rng(0)).astype(np.float32)
    rates = (TIME_STRETCH_RATE[0], 1.0, TIME_STRETCH_RATE[1])
    ways = {"librosa": lambda r: librosa.effects.time_stretch(x, rate=r),
            "toolkit": lambda r: time_stretch(x, rate=r)}
    same = all(ways["librosa"](r).tobytes() == ways["toolkit"](r).tobytes() for r in rates)  # also warms up
    best = {name: float("inf") for name in ways}
    for _ in range(args.repeat):
        for name, way in ways.items():
            start = time.perf_counter()
            for r in rates:
                way(r)
            best[name] = min(best[name], (time.perf_counter() - start) / len(rates))
    print(f"{args.seconds:g} s at {args.samplerate} Hz, rates {', '.join(f'{r:g}' for r in rates)}; "
          f"best of {args.repeat}")
    for name, seconds in best.items():
        print(f"  {name:<8} {1000 * seconds:7.1f} ms per stretch")
    ratio = best["librosa"] / best["toolkit"]
    print(f"  librosa / toolkit: {ratio:.2f}; same bytes: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
