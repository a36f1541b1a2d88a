#!/usr/bin/env python3
"""Benchmark of the whole pipeline, as a user runs it: ``pipeline.py`` on plain 8 s recordings.

Writes ``--classes`` classes of ``--recordings`` mono 44.1 kHz clips of 8 s each and runs
``pipeline.py`` (the three steps and the report) with ``--num-workers`` and
``--target-samples``, timing the wall and the CPU seconds of every process it starts.
``--checkout DIR`` (repeatable) runs the pipeline of other checkouts too, in turns on the
same files (an older version, for a before/after comparison), and gives each one's
times against the first's.

NightScan's earlier three scripts are not part of this bench: they need torch and
torchaudio, which the toolkit does not install.

    python bench/bench_pipeline.py                                   # 350 recordings, target 100
    python bench/bench_pipeline.py --recordings 20 --classes 2 --target 30 --checkout /older/checkout
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from measure import measure  # noqa: E402
from seed_dataset import make_uniform_class  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=7)
    parser.add_argument("--recordings", type=int, default=50, help="per class")
    parser.add_argument("--target", type=int, default=100, help="--target-samples")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="runs per checkout, in turns (the best counts)")
    parser.add_argument("--checkout", type=Path, action="append", default=[],
                        help="another checkout whose pipeline.py runs on the same files")
    args = parser.parse_args(argv)
    checkouts = [ROOT, *(c.resolve() for c in args.checkout)]
    with tempfile.TemporaryDirectory(prefix="nightscan-bench-") as tmp:
        audio = Path(tmp) / "audio"
        for c in range(args.classes):
            make_uniform_class(audio / f"species_{c}", args.recordings)
        best: dict[Path, tuple[float, float]] = {}
        for _ in range(args.rounds):
            for checkout in checkouts:
                data = Path(tmp) / "data"
                shutil.rmtree(data, ignore_errors=True)
                m = measure(str(checkout), [sys.executable, str(checkout / "pipeline.py"), "--audio-root",
                                            str(audio), "--data-dir", str(data), "--target-samples",
                                            str(args.target), "--num-workers", str(args.workers), "-q"])
                old = best.get(checkout, (float("inf"), float("inf")))
                best[checkout] = (min(old[0], m.wall), min(old[1], m.cpu))
    recordings = args.classes * args.recordings
    print(f"{recordings} recordings of 8 s, {args.classes} classes, target {args.target}, "
          f"{args.workers} workers; best of {args.rounds}")
    first_wall, first_cpu = best[ROOT]
    for checkout, (wall, cpu) in best.items():
        print(f"  {str(checkout):<40} wall {wall:7.1f} s  CPU {cpu:7.1f} s"
              f"  ({wall / first_wall:.2f} and {cpu / first_cpu:.2f} of this checkout's)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
