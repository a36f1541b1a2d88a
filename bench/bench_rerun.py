"""A rerun after the data set grew by 1 %: the whole pipeline again, against a fresh build.

Builds the bench's data set (``seed_dataset.py``), runs ``pipeline.py`` on it (the fresh
build), adds 1 % of new recordings spread over the classes (a new night's folder), and
runs the same command again with ``--keep-splits`` (a grown data set whose test set
stays put). It prints both wall times and their ratio; ``--check`` then builds the
grown data set afresh and compares: the pools byte for byte (metadata less its
timestamp), and every spectrogram with the fresh one of the same pool file (the
splits differ by design: the rerun kept the old ones).

    python bench/bench_rerun.py                 # the full 5,000-sample data set, target 500
    python bench/bench_rerun.py --scale 0.2     # a fifth of it, target 100
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run_bench import warm_cache  # noqa: E402
from seed_dataset import SEED_COUNTS, make_dataset  # noqa: E402

sys.path.insert(0, str(ROOT))
from nightscan_common.dsp.synthetic import write_recording  # noqa: E402

#: The share of new recordings added before the rerun, and the folder (a new night) they go to.
GROWTH = 0.01
NEW_FOLDER = "night_new"


def pipeline(audio: Path, data: Path, *, target: int, workers: int, keep_splits: bool = False) -> float:
    """Wall seconds of one pipeline run, as a user starts it."""
    cmd = [sys.executable, str(ROOT / "pipeline.py"), "--audio-root", str(audio), "--data-dir", str(data),
           "--target-samples", str(target), "--num-workers", str(workers), "-q"]
    start = time.perf_counter()
    subprocess.run(cmd + ["--keep-splits"] * keep_splits, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def grow(audio: Path, total: int, *, clip_seconds: float) -> int:
    """Add ``GROWTH`` x ``total`` recordings, shared over the classes by size; return how many."""
    n = max(len(SEED_COUNTS), round(total * GROWTH))
    weights = sum(SEED_COUNTS.values())
    added = 0
    for ci, (cls, count) in enumerate(SEED_COUNTS.items()):
        share = max(1, round(n * count / weights))
        for i in range(share):
            write_recording(audio / cls / NEW_FOLDER / f"new_{i:04d}.wav", call="trills",
                            seconds=clip_seconds, samplerate=44100, seed=900000 + ci * 1000 + i)
        added += share
    return added


def digest(data: Path) -> dict[str, str]:
    """What must be equal between a rerun and a fresh build: the pool's bytes, and each
    spectrogram's by its pool file (``<class>/<stem>``, whatever its split)."""
    out = {}
    pool, spectrograms = data / "augmented_pool", data / "spectrograms_balanced"
    for p in sorted(pool.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        data_bytes = p.read_bytes()
        if p.name == "pool_metadata.json":
            meta = json.loads(data_bytes)
            meta.pop("created_at")
            data_bytes = json.dumps(meta, sort_keys=True).encode()
        out[f"pool/{p.relative_to(pool).as_posix()}"] = hashlib.sha256(data_bytes).hexdigest()
    for p in sorted(spectrograms.glob("*/*/*.npy")):
        out[f"spectrogram/{p.parent.name}/{p.stem}"] = hashlib.sha256(p.read_bytes()).hexdigest()
    with sqlite3.connect(data / "balanced_audio_index.db") as con:
        rows = con.execute("SELECT file_path FROM audio_samples ORDER BY file_path").fetchall()
    out["index rows"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the data set (default: 1)")
    p.add_argument("--target", type=int, help="target samples per class (default: 500 x scale)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--clip-seconds", type=float, default=8.0)
    p.add_argument("--dir", type=Path, default=ROOT / "bench" / "results" / "rerun")
    p.add_argument("--check", action="store_true",
                   help="compare the rerun with a fresh build of the grown set")
    args = p.parse_args(argv)
    target = args.target or max(6, round(500 * args.scale))
    work = args.dir / f"scale{args.scale:g}"
    audio, data = work / "audio", work / "data"
    for folder in [data, work / "fresh_data", *audio.glob(f"*/{NEW_FOLDER}*")]:  # the data set is kept
        shutil.rmtree(folder, ignore_errors=True)
    total = make_dataset(audio, scale=args.scale, workers=args.workers, clip_seconds=args.clip_seconds)
    warm_cache(audio)
    fresh = pipeline(audio, data, target=target, workers=args.workers)
    added = grow(audio, total, clip_seconds=args.clip_seconds)
    warm_cache(audio)
    rerun = pipeline(audio, data, target=target, workers=args.workers, keep_splits=True)
    print(f"data set: {total} recordings, target {target}, {args.workers} workers; {added} added "
          f"({100 * added / total:.1f} %)")
    print(f"fresh build  {fresh:8.1f} s")
    print(f"rerun        {rerun:8.1f} s")
    print(f"rerun / fresh build: {rerun / fresh:.3f} (bar: <= 0.05)")
    if args.check:
        again = work / "fresh_data"
        pipeline(audio, again, target=target, workers=args.workers)
        same = digest(data) == digest(again)
        print(f"pool, indexed files and spectrograms equal to a fresh build of the grown set: {same}")
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
