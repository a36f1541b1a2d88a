#!/usr/bin/env python3
"""Benchmark of start-up: the CPU seconds of each command's ``--help`` and of step 2 on a 500-row pool.

Each command runs in a fresh interpreter, as a user runs it; its CPU time (user and
system, the interpreter's own start included) is read from the kernel's accounting of
the finished child. Each figure is the best of ``--repeat`` runs, interleaved so that a
busy spell of the machine hits every command alike. ``--checkout DIR`` measures the
front ends of another checkout (an older version, for a before/after comparison) with
the same pool.

    python bench/bench_startup.py
    python bench/bench_startup.py --checkout /path/to/older/checkout --repeat 7
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "tests"))

from pool_factory import write_pool  # noqa: E402

HELP_AIM_S = 0.5
COMMANDS = ("create_augmented_pool.py", "create_balanced_index.py", "pregenerate_spectrograms_simple.py",
            "make_report.py", "make_demo_data.py", "pipeline.py")
CLASSES, FILES_PER_CLASS, ORIGINALS_PER_CLASS = 5, 100, 20


def make_pool(pool: Path) -> int:
    """A pool of ``CLASSES`` x ``FILES_PER_CLASS`` files as step 1 writes its metadata (with
    sha256 and fingerprints, so step 2 decodes nothing); the files hold a few bytes each."""
    per_original = FILES_PER_CLASS // ORIGINALS_PER_CLASS
    sources = [f"site{i % 4}_rec_{i:03d}.wav" for i in range(ORIGINALS_PER_CLASS)]
    write_pool(pool, {f"species_{c}": [per_original] * ORIGINALS_PER_CLASS for c in range(CLASSES)},
               sources={f"species_{c}": sources for c in range(CLASSES)})
    return CLASSES * FILES_PER_CLASS


def cpu_seconds(cmd: list[str], cwd: Path) -> float:
    """The CPU seconds (user + system) of ``cmd`` run to its end; exits if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed (status {done.returncode}):\n{done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the checkout whose front ends run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (the best counts)")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()
    with tempfile.TemporaryDirectory(prefix="nightscan-bench-") as tmp:
        pool = Path(tmp) / "pool"
        rows = make_pool(pool)
        runs = {f"{c} --help": [sys.executable, str(checkout / c), "--help"] for c in COMMANDS}
        runs[f"step 2, {rows} rows"] = [sys.executable, str(checkout / "create_balanced_index.py"),
                                        "--pool-dir", str(pool), "--output-db", str(Path(tmp) / "index.db"),
                                        "--overwrite", "-q"]
        runs["python -c pass"] = [sys.executable, "-c", "pass"]
        best = {name: float("inf") for name in runs}
        for _ in range(args.repeat):
            for name, cmd in runs.items():
                best[name] = min(best[name], cpu_seconds(cmd, Path(tmp)))
    print(f"checkout: {checkout}; CPU seconds, best of {args.repeat}")
    for name, seconds in best.items():
        aim = f" (aim < {HELP_AIM_S:g} s)" if name.endswith("--help") else ""
        print(f"  {name:<48} {seconds:6.2f} s{aim}")
    met = all(s < HELP_AIM_S for n, s in best.items() if n.endswith("--help"))
    print(f"every --help under {HELP_AIM_S:g} s of CPU: {'yes' if met else 'NO'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
