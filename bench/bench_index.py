#!/usr/bin/env python3
"""Benchmark of step 2: index a pool of 1,500 classes x 500 files (750,000 rows).

The pool is metadata plus empty files (step 2 reads names and the metadata, never the
audio), written to a temporary folder. The index is built by the real front end in a
subprocess, whose wall time and peak resident memory are measured.

``--shared-every N`` makes groups that span classes: every N-th original of a class has
the content (sha256) of one of the next class's, so each class shares groups with its
neighbours and the 1,500 classes form one chain that must be split at once.
``--baseline DIR`` also runs another checkout's front end (an earlier version) on the
same pool, in the same run, and prints the ratio of the two times.

    python bench/bench_index.py                      # 1500 x 500
    python bench/bench_index.py --classes 100 --files-per-class 500
    python bench/bench_index.py --shared-every 10 --baseline /path/to/earlier/checkout
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nightscan_common.dsp.augmentations import DEFAULT_AUGMENTATIONS  # noqa: E402
from nightscan_common.formats.pool_metadata import (  # noqa: E402
    AUGMENTED,
    METADATA_FILENAME,
    ORIGINAL,
    augmented_filename,
    original_filename,
)

TIME_LIMIT_S = 60.0
MEMORY_LIMIT_MB = 1024.0


def class_files(cls: str, files_per_class: int, originals: int, *, index: int = 0,
                shared_every: int = 0) -> list[dict]:
    """One class's metadata entries: ``originals`` originals sharing out the augmentations;
    with ``shared_every``, original i (i % shared_every == 0) has the content of the next
    class's original i + shared_every // 2."""
    entries = []
    augs = files_per_class - originals
    half = shared_every // 2
    for i in range(originals):
        source = f"site{i % 7}/night_{i:04d}.wav"
        stem = f"site{i % 7}_night_{i:04d}"
        content = f"{cls}/{source}"
        if shared_every and i % shared_every == 0:
            content = f"link/{index}/{i}"
        elif shared_every and index and i % shared_every == half:
            content = f"link/{index - 1}/{i - half}"
        digest = hashlib.sha256(content.encode()).hexdigest()
        entries.append({"filename": original_filename(stem, ".wav"), "type": ORIGINAL,
                        "source": source, "sha256": digest})
        for n in range(1, augs // originals + (i < augs % originals) + 1):
            aug = DEFAULT_AUGMENTATIONS[(n - 1) % len(DEFAULT_AUGMENTATIONS)]
            entries.append({"filename": augmented_filename(stem, n, aug), "type": AUGMENTED,
                            "source": source, "augmentation": aug,
                            "params": {"rate": 0.93, "snr_db": 18.5, "gain_db": -2.1}})
    return entries


def write_pool(pool: Path, classes: int, files_per_class: int, shared_every: int = 0) -> None:
    """Metadata with file lists, and the empty files it lists."""
    meta_classes = {}
    for c in range(classes):
        cls = f"species_{c:04d}"
        files = class_files(cls, files_per_class, originals=min(40, files_per_class), index=c,
                            shared_every=shared_every)
        folder = pool / cls
        folder.mkdir(parents=True)
        for entry in files:
            os.close(os.open(folder / entry["filename"], os.O_CREAT | os.O_WRONLY, 0o644))
        meta_classes[cls] = {"original_count": 40, "selected_originals": 40, "total_count": len(files),
                             "reached_target": True, "files": files}
    meta = {"format_version": 1, "target_samples_per_class": files_per_class, "classes": meta_classes}
    (pool / METADATA_FILENAME).write_text(json.dumps(meta, indent=2), encoding="utf-8")


#: Runs a script and reports its own peak RSS (KiB) on stderr's last line. Measured in the
#: child itself: a child's peak also counts the memory of the process it was forked from
#: before exec, so this process stays small and the pool is written by another one.
_MEASURE = """
import resource, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
"""


def run_measured(cmd: list[str], *, cwd: Path = ROOT) -> tuple[float, float]:
    """Run ``python _MEASURE script args``; return (wall seconds, peak RSS in MB). Status 1
    (one recording in two classes, which the shared groups are) counts as done."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, cwd=cwd)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"the indexer failed (status {proc.returncode}):\n{proc.stderr}")
    return wall, int(proc.stderr.strip().splitlines()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=1500)
    parser.add_argument("--files-per-class", type=int, default=500)
    parser.add_argument("--shared-every", type=int, default=0, metavar="N",
                        help="every N-th original shares its content with the next class's (0: none)")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="a checkout of an earlier version, run first on the same pool")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nightscan-bench-") as tmp:
        pool, db = Path(tmp) / "pool", Path(tmp) / "index.db"
        t0 = time.perf_counter()
        writer = multiprocessing.get_context("fork").Process(
            target=write_pool, args=(pool, args.classes, args.files_per_class, args.shared_every))
        writer.start()
        writer.join()
        setup = time.perf_counter() - t0
        base = None
        if args.baseline is not None:
            base = run_measured([str(args.baseline / "create_balanced_index.py"), "--pool-dir", str(pool),
                                 "--output-db", str(Path(tmp) / "baseline.db"), "-q"], cwd=args.baseline)
        wall, peak_mb = run_measured([str(ROOT / "create_balanced_index.py"), "--pool-dir", str(pool),
                                      "--output-db", str(db), "-q"])
        rows = args.classes * args.files_per_class
        meta_mb = (pool / METADATA_FILENAME).stat().st_size / 1e6
        db_mb = db.stat().st_size / 1e6
    print(f"pool: {args.classes} classes x {args.files_per_class} files = {rows:,} rows "
          f"(metadata {meta_mb:.0f} MB, written in {setup:.1f} s)")
    if args.shared_every:
        print(f"groups across classes: every {args.shared_every}th original shares its content with "
              "the next class's")
    if base is not None:
        print(f"baseline ({args.baseline}): {base[0]:.1f} s, peak RSS {base[1]:.0f} MB")
    print(f"create_balanced_index.py: {wall:.1f} s, peak RSS {peak_mb:.0f} MB, index {db_mb:.0f} MB")
    if base is not None:
        print(f"ratio to the baseline: time {wall / base[0]:.2f}x, peak RSS {peak_mb / base[1]:.2f}x")
    ok = wall < TIME_LIMIT_S and peak_mb < MEMORY_LIMIT_MB
    print(f"limits: < {TIME_LIMIT_S:.0f} s and < {MEMORY_LIMIT_MB:.0f} MB: {'met' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
