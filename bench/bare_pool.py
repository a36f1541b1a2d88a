"""Step 1's bare work, the baseline it is measured against: the same plan, no framework.

Reads a finished pool's metadata and redoes its work in a tight loop over a plain
multiprocessing pool with BLAS pinned to one thread: decode each original once, apply
the same audiomentations transforms with the same seeds, write each WAV, copy each
original. No checking, no journal, no metadata, no progress bar.

    python bench/bare_pool.py POOL_DIR AUDIO_ROOT OUT_DIR WORKERS
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import soundfile as sf  # noqa: E402

from nightscan_common.dsp.augmentations import apply_augmentation, warm_up  # noqa: E402


def _pin() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _one(job: tuple[str, str, list]) -> int:
    source, out_dir, files = job
    os.makedirs(out_dir, exist_ok=True)
    augmented = [f for f in files if f["type"] == "augmented"]
    if augmented:
        data, sr = sf.read(source, dtype="float32", always_2d=True)
        mono = data.mean(axis=1, dtype="float32")
        for f in augmented:
            out, _ = apply_augmentation(f["augmentation"], mono, sr, seed=f["seed"])
            sf.write(os.path.join(out_dir, f["filename"]), out, sr, subtype="PCM_16")
    for f in files:
        if f["type"] == "original":
            shutil.copyfile(source, os.path.join(out_dir, f["filename"]))
    return len(files)


def main() -> None:
    pool_dir, audio_root, out = (Path(a) for a in sys.argv[1:4])
    workers = int(sys.argv[4])
    meta = json.loads((pool_dir / "pool_metadata.json").read_text())
    jobs = []
    for cls, entry in meta["classes"].items():
        by_source: dict[str, list] = {}
        for f in entry["files"]:
            by_source.setdefault(f["source"], []).append(f)
        jobs += [(str(audio_root / cls / src), str(out / cls), files) for src, files in by_source.items()]
    warm_up(tuple(meta["params"]["augmentations"]))
    with multiprocessing.get_context("fork").Pool(workers, initializer=_pin) as pool:
        total = sum(pool.imap_unordered(_one, jobs, chunksize=4))
    print(total)


if __name__ == "__main__":
    main()
