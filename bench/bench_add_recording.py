"""What adding one recording costs: a class of 40 at target 500, one recording added, the same command.

Step 1 on a class of 40 short recordings (500 samples: 40 originals, 460 augmentations),
then one recording more and step 1 again. It prints the files the rerun kept, made and
removed, against the class's 500: the new recording's own 12, the 12th augmentation of
the originals that no longer get one (removed), and the few others whose types changed.

    python bench/bench_add_recording.py                  # 40 + 1 recordings, target 500
    python bench/bench_add_recording.py --seeds 42 7 1   # the figure for several seeds
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nightscan_common.dsp.synthetic import write_recording  # noqa: E402
from nightscan_common.execution.cluster import RunOptions  # noqa: E402
from nightscan_common.steps.pool import run_pool  # noqa: E402
from nightscan_common.steps.pool_options import PoolOptions  # noqa: E402


def _recording(folder: Path, i: int, seconds: float) -> None:
    write_recording(folder / f"rec_{i:03d}.wav", call="hoots", seconds=seconds, samplerate=16000,
                    seed=1000 + i)


def once(root: Path, *, seed: int, originals: int, target: int, seconds: float, workers: int) -> dict:
    """Step 1 on ``originals`` recordings, then on one more: the rerun's kept/made/removed."""
    audio, pool = root / "audio" / "owl", root / "pool"
    for i in range(originals):
        _recording(audio, i, seconds)
    options = PoolOptions(target_samples=target, seed=seed)
    start = time.perf_counter()
    first = run_pool(audio.parent, pool, options, run=RunOptions(num_workers=workers, progress=False))
    built = time.perf_counter() - start
    _recording(audio, originals, seconds)
    start = time.perf_counter()
    again = run_pool(audio.parent, pool, options, run=RunOptions(num_workers=workers, progress=False))
    return {"seed": seed, "first_made": first.written, "kept": again.reused, "made": again.written,
            "removed": again.removed, "first_s": built, "rerun_s": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42])
    parser.add_argument("--originals", type=int, default=40)
    parser.add_argument("--target", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=0.5, help="length of each recording")
    parser.add_argument("--num-workers", type=int, default=2)
    args = parser.parse_args(argv)
    print(f"class of {args.originals} recordings at target {args.target}, one recording added:")
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="bench_add_") as tmp:
            r = once(Path(tmp), seed=seed, originals=args.originals, target=args.target,
                     seconds=args.seconds, workers=args.num_workers)
        print(f"seed {r['seed']}: first run made {r['first_made']} files ({r['first_s']:.0f} s); "
              f"rerun: {r['kept']} kept, {r['made']} made, {r['removed']} removed of {args.target} "
              f"({r['rerun_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
