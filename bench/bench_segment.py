#!/usr/bin/env python3
"""Benchmark of step 1's --segment: time per window and memory, flat in the recording's length.

Writes mono 16-bit recordings of each length asked for (and an 8 s one, for memory)
to a temporary folder and runs create_augmented_pool.py with ``--segment 8`` on each, in a
subprocess, one worker: a 30-minute night gives 225 windows, 2 hours 900. What must stay
flat, longest against shortest (aim: under 1.2x): the time per window of the check (one
decode of the recording) and of the window tasks, as step 1 logs them with -v, beyond
the 8 s run's (the workers' start and warm-up), best of --repeat runs, and the
peak resident memory of the parent and of the worker against the 8 s run's. A window's
task reads only its window and checks its source by the identity the check saw: the
source is hashed once per run, whatever its length.

    python bench/bench_segment.py                         # 30 and 120 minutes at 48 kHz
    python bench/bench_segment.py --minutes 30 120 --rate 8000   # the same, 6x smaller files
"""

from __future__ import annotations

import argparse
import re
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
RATIO_AIM = 1.2


def write_recording(path: Path, seconds: float, rate: int = RATE) -> None:
    """Quiet noise with a call every 5 s, written block by block (flat memory here too)."""
    rng = np.random.default_rng(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as f:
        left = int(seconds * rate)
        while left:
            n = min(left, 60 * rate)
            block = 0.01 * rng.standard_normal(n)
            t = np.arange(n) / rate
            block += 0.3 * np.sin(2 * np.pi * min(3000, rate // 4) * t) * (t % 5 < 0.2)
            f.write(block.astype(np.float32))
            left -= n


def run(base: Path, name: str, seconds: float, rate: int, *, repeat: int):
    """Step 1 on one recording, ``repeat`` times into fresh pools: the best of the runs."""
    audio = base / name / "audio"
    write_recording(audio / "night" / "rec.wav", seconds, rate)
    windows = max(1, -(-int(seconds) // SEGMENT_S))
    best = None
    for i in range(repeat):
        argv = [sys.executable, str(ROOT / "create_augmented_pool.py"), "--audio-root", str(audio),
                "--output-dir", str(base / name / f"pool{i}"), "--segment", str(SEGMENT_S),
                "--target-samples", str(windows), "--num-workers", "1", "-v"]
        m = measure(name, argv, output=base / name / f"pool{i}", files=windows)
        m.extra.update(phases(m.extra["stderr"]))
        m.extra["work"] = m.extra["check"] + m.extra["write"]
        best = m if best is None or m.extra["work"] < best.extra["work"] else best
    return best, argv


def phases(log: str) -> dict[str, float]:
    """The seconds of the check (one decode of the recording) and of the window tasks, as
    step 1 logs them with -v."""
    check = re.search(r"checked \d+ originals .* in ([\d.]+) s", log)
    write = re.search(r"outputs written in ([\d.]+) s", log)
    return {"check": float(check.group(1)) if check else 0.0,
            "write": float(write.group(1)) if write else 0.0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[30.0, 120.0])
    parser.add_argument("--rate", type=int, default=RATE, help="sample rate, Hz (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=2, help="runs per length, the best kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nightscan-segment-") as tmp:
        short, _ = run(Path(tmp), "8 s", SEGMENT_S, args.rate, repeat=args.repeat)
        runs = []
        for minutes in sorted(args.minutes):
            m, argv = run(Path(tmp), f"{minutes:g} min", minutes * 60, args.rate, repeat=args.repeat)
            runs.append(m)
    fixed = short.extra["work"]  # start-up of the workers and their warm-up: the 8 s run's
    print("command: python " + " ".join([Path(argv[1]).name, *argv[2:]]).replace(tmp, "TMP"))
    print(f"sample rate {args.rate} Hz; check and tasks: step 1's own -v timings, best of "
          f"{args.repeat}; ms/window: check and tasks beyond the 8 s run's, per window")
    print(f"{'run':<10}{'windows':>8}{'wall s':>8}{'check s':>9}{'tasks s':>9}{'ms/window':>11}"
          f"{'parent MB':>11}{'worker MB':>11}{'written MB':>12}")
    per_window = {}
    for m in (short, *runs):
        per_window[m.name] = 1000 * (m.extra["work"] - fixed) / max(1, m.files - 1)
        print(f"{m.name:<10}{m.files:>8}{m.wall:>8.1f}{m.extra['check']:>9.1f}{m.extra['write']:>9.1f}"
              f"{per_window[m.name]:>11.1f}{m.parent_peak_mb:>11.0f}{m.worker_peak_mb:>11.0f}"
              f"{m.bytes_written / 1e6:>12.0f}")
    first, last = runs[0], runs[-1]
    time_ratio = per_window[last.name] / max(1e-9, per_window[first.name])
    parent, worker = last.parent_peak_mb / short.parent_peak_mb, last.worker_peak_mb / short.worker_peak_mb
    print(f"time per window, {last.name} / {first.name}: {time_ratio:.2f}x (aim: < {RATIO_AIM}x)")
    print(f"peak memory, {last.name} / 8 s: parent {parent:.2f}x, worker {worker:.2f}x "
          f"(aim: < {RATIO_AIM}x)")
    return 0 if max(parent, worker, time_ratio) < RATIO_AIM else 1


if __name__ == "__main__":
    sys.exit(main())
