"""What step 3's content checks cost on a rerun with nothing to do: plain pool files
(trusted by size, mtime and inode), hard-linked ones (hashed every run) and ``--verify``.

Writes N one-minute recordings, a pool of copies and a pool of hard links to them, and
an index; runs step 3 once on each pool, then times reruns in one process, in turns:
the plain pool, the linked pool, the plain pool with ``--verify``. The first ``--verify``
run makes every spectrogram again (no content was recorded for plain files yet); the
figures printed are the median of the reruns after it.

    python bench/bench_verify.py --files 40 --dir /tmp/bench_verify
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

import pregenerate_spectrograms_simple as step3  # noqa: E402
from nightscan_common.formats.index_db import SCHEMA  # noqa: E402

SECONDS, RATE = 60, 22050


def make_pools(base: Path, files: int) -> tuple[Path, Path, Path]:
    """The recordings, a pool of copies, a pool of hard links, and an index over both."""
    root, plain, linked = base / "root", base / "plain", base / "linked"
    rng = np.random.default_rng(0)
    rows = []
    for i in range(files):
        src = root / "owl" / f"r{i:04d}.wav"
        src.parent.mkdir(parents=True, exist_ok=True)
        sf.write(src, (0.1 * rng.standard_normal(SECONDS * RATE)).astype(np.float32), RATE, subtype="PCM_16")
        name = f"r{i:04d}_original.wav"
        for pool, place in ((plain, shutil.copyfile), (linked, os.link)):
            (pool / "owl").mkdir(parents=True, exist_ok=True)
            place(src, pool / "owl" / name)
        rows.append((f"owl/{name}", "owl", 0, f"owl/{name}", None, ("train", "val", "test")[i % 3], name))
    db = base / "index.db"
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    con.executemany("INSERT INTO audio_samples (file_path, class_name, is_augmented, original_file, "
                    "augmentation_type, split, group_key) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    return plain, linked, db


def step3_seconds(db: Path, pool: Path, out: Path, workers: int, *extra: str) -> float:
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        status = step3.main(["--index-db", str(db), "--pool-root", str(pool), "--output-dir", str(out),
                             "--num-workers", str(workers), "-q", *extra])
    assert status == 0, status
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=40)
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    shutil.rmtree(args.dir, ignore_errors=True)
    plain, linked, db = make_pools(args.dir, args.files)
    megabytes = sum(p.stat().st_size for p in plain.rglob("*.wav")) / 1e6
    outs = {pool: args.dir / f"out_{pool.name}" for pool in (plain, linked)}
    for pool, out in outs.items():
        step3_seconds(db, pool, out, args.workers)
    first_verify = step3_seconds(db, plain, outs[plain], args.workers, "--verify")
    times: dict[str, list[float]] = {"plain": [], "linked": [], "plain --verify": []}
    for _ in range(args.reruns):
        times["plain"].append(step3_seconds(db, plain, outs[plain], args.workers))
        times["linked"].append(step3_seconds(db, linked, outs[linked], args.workers))
        times["plain --verify"].append(step3_seconds(db, plain, outs[plain], args.workers, "--verify"))
    print(f"{args.files} files of {SECONDS} s at {RATE} Hz, {megabytes:.0f} MB; rerun with nothing to do, "
          f"median of {args.reruns}:")
    for name, seconds in times.items():
        print(f"  {name:15s} {statistics.median(seconds):7.3f} s")
    print(f"  first --verify  {first_verify:7.3f} s (every spectrogram of a plain file made again)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
