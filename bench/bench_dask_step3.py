#!/usr/bin/env python3
"""Step 3 on the bench's data set: the local pool against Dask, 2 workers each, interleaved.

Makes the pipeline bench's data set (``seed_dataset``, at ``--scale``), its pool (target
``--target``) and index, then runs step 3 as a user does, ``--rounds`` times in turn:
with the local pool (``--num-workers 2``), with ``--scheduler local`` (its cluster's
start-up included) and on a `dask scheduler` with 2 `dask worker` processes started
beforehand. Each run starts from a warm page cache; the best wall time of each is kept,
since the machine may be shared, and the outputs are checked to be the same bytes.

    python bench/bench_dask_step3.py                      # the full set: 5,000 files
    python bench/bench_dask_step3.py --scale 0.4 --target 200 --rounds 3
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(HERE)]

from dask_cluster import running_cluster  # noqa: E402
from measure import measure  # noqa: E402
from run_bench import _script, warm_cache  # noqa: E402
from seed_dataset import make_dataset  # noqa: E402

from nightscan_common.cli import format_table  # noqa: E402

WORKERS = 2


def tree_digest(folder: Path) -> str:
    """One digest of every .npy below ``folder``, names and bytes."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*.npy")):
        h.update(str(p.relative_to(folder)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the bench's data set")
    parser.add_argument("--target", type=int, default=500, help="step 1's target per class")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, interleaved")
    parser.add_argument("--dir", type=Path, help="work folder, kept for the next run (its data "
                        "set is reused; default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nightscan-bench-dask3-") as tmp:
        work = args.dir or Path(tmp)
        (work / "cluster").mkdir(parents=True, exist_ok=True)
        audio, pool, db = work / "audio", work / "pool", work / "index.db"
        make_dataset(audio, scale=args.scale, workers=WORKERS)
        measure("step 1", _script("create_augmented_pool.py", "--audio-root", audio, "--output-dir",
                                  pool, "--target-samples", args.target, "--num-workers", WORKERS,
                                  "--overwrite"))
        measure("step 2", _script("create_balanced_index.py", "--pool-dir", pool, "--output-db", db,
                                  "--overwrite"))
        with running_cluster(work / "cluster", n=WORKERS) as address:
            modes = {"local process pool": [], "--scheduler local": ["--scheduler", "local"],
                     "dask scheduler + 2 dask worker": ["--scheduler", address]}
            walls: dict[str, list[float]] = {m: [] for m in modes}
            digests: dict[str, str] = {}
            files = 0
            for r in range(args.rounds):
                for mode, extra in modes.items():
                    out = work / "spec"
                    shutil.rmtree(out, ignore_errors=True)
                    warm_cache(pool)
                    m = measure(mode, _script("pregenerate_spectrograms_simple.py", "--index-db", db,
                                              "--pool-root", pool, "--output-dir", out,
                                              "--num-workers", WORKERS, *extra), output=out)
                    walls[mode].append(m.wall)
                    files = sum(1 for _ in out.rglob("*.npy"))
                    if r == args.rounds - 1:
                        digests[mode] = tree_digest(out)
                    print(f"  round {r + 1}: {mode}: {m.wall:.1f} s", flush=True)
    best = {m: min(w) for m, w in walls.items()}
    base = best["local process pool"]
    rows = [[m, " ".join(f"{w:.1f}" for w in walls[m]), f"{best[m]:.1f}", f"{best[m] / base:.2f}"]
            for m in modes]
    print(f"\nstep 3, {files:,} files, {WORKERS} workers, best of {args.rounds} interleaved rounds")
    print(format_table(["executor", "wall s per round", "best s", "/ local pool"], rows))
    same = len(set(digests.values())) == 1
    print(f"outputs: {'the same bytes' if same else 'DIFFERENT'} in all three ({files:,} .npy files)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
