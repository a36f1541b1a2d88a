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
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from nightscan_common.dsp.fingerprint import Fingerprint  # noqa: E402
from nightscan_common.formats.pool_metadata import (  # noqa: E402
    AUGMENTED,
    FORMAT_VERSION,
    METADATA_FILENAME,
    ORIGINAL,
    ClassEntry,
    FileRecord,
    PoolMetadata,
    augmented_filename,
    original_filename,
)

HELP_AIM_S = 0.5
COMMANDS = ("create_augmented_pool.py", "create_balanced_index.py", "pregenerate_spectrograms_simple.py",
            "make_report.py", "make_demo_data.py", "pipeline.py")
CLASSES, FILES_PER_CLASS, ORIGINALS_PER_CLASS = 5, 100, 20


def write_pool(pool: Path) -> int:
    """A pool of ``CLASSES`` x ``FILES_PER_CLASS`` files as step 1 writes its metadata (with
    sha256 and fingerprints, so step 2 decodes nothing); the files hold a few bytes each."""
    rng = np.random.default_rng(0)
    classes = {}
    for c in range(CLASSES):
        name, files = f"species_{c}", []
        (pool / name).mkdir(parents=True)
        for i in range(ORIGINALS_PER_CLASS):
            stem, data = f"site{i % 4}_rec_{i:03d}", f"{c}/{i}".encode()
            words = rng.integers(0, 2**32, 64, dtype=np.uint32)
            files.append(FileRecord(filename=original_filename(stem, ".wav"), type=ORIGINAL,
                                    source=f"{stem}.wav",
                                    sha256=hashlib.sha256(data).hexdigest(),
                                    fingerprint=Fingerprint(words, np.ones(64, dtype=bool)).to_text()))
            (pool / name / files[-1].filename).write_bytes(data)
            for n in range(1, FILES_PER_CLASS // ORIGINALS_PER_CLASS):
                files.append(FileRecord(filename=augmented_filename(stem, n, "volume"), type=AUGMENTED,
                                        source=f"{stem}.wav",
                                        augmentation="volume", params={"gain_db": -3.0}))
                (pool / name / files[-1].filename).write_bytes(files[-1].filename.encode())
        augs = FILES_PER_CLASS // ORIGINALS_PER_CLASS - 1
        classes[name] = ClassEntry(original_count=ORIGINALS_PER_CLASS, selected_originals=ORIGINALS_PER_CLASS,
                                   augmentations_per_sample=augs,
                                   augmentations_per_original={"min": augs, "max": augs},
                                   total_count=len(files), reached_target=True, short_by=0,
                                   files=files).to_dict()
    meta = PoolMetadata(format_version=FORMAT_VERSION, created_at="2026-01-01T00:00:00+00:00",
                        tool_version="bench", params={}, target_samples_per_class=FILES_PER_CLASS,
                        classes=classes, skipped=[], totals={})
    (pool / METADATA_FILENAME).write_text(json.dumps(meta.to_dict()), encoding="utf-8")
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
        rows = write_pool(pool)
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
