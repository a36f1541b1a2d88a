#!/usr/bin/env python3
"""Benchmark of the training layouts and their reader, all figures from one run.

1. Reads: a split of ``--items`` spectrograms of the general preset's shape
   (128 x 345 float32) written in each layout; items/s of ``SpectrogramDataset`` in
   random order over each, against one ``np.load`` per file (NightScan's read), and in
   order over the shards (with the ``webdataset`` package too). Every item is copied
   into a batch, as a loader's collate does; every pass starts from a warm page cache.
2. Lookups: a synthetic ``--index-rows``-row index; NightScan's loader (``LIMIT 1
   OFFSET i`` per item) against the reader's tree layout (the split's rowids read once,
   then one lookup by rowid per item), each serving the items of a tiny .npy per row.
3. Builds: step 3 run as a user does on ``--build-files`` clips in each layout, the best
   of ``--repeat`` runs each; wall time as a ratio to the tree's, and bytes on disk.

    python bench/bench_dataset.py             # about 4 min on 2 cores
    python bench/bench_dataset.py --small     # seconds: checks that every figure comes out
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
from measure import measure  # noqa: E402
from nightscan_loader import CachedSpectrogramLoader  # noqa: E402
from run_bench import warm_cache  # noqa: E402

from nightscan_common.dataset import SpectrogramDataset  # noqa: E402
from nightscan_common.dsp.animals import PRESETS  # noqa: E402
from nightscan_common.dsp.synthetic import write_recording  # noqa: E402
from nightscan_common.execution.base import default_num_workers  # noqa: E402
from nightscan_common.formats.catalog import ArraySpec, disk_usage  # noqa: E402
from nightscan_common.formats.index_db import SCHEMA, connect_read_only, read_index_rows  # noqa: E402
from nightscan_common.formats.labels import label_map, write_labels  # noqa: E402
from nightscan_common.formats.layouts import LAYOUTS, make_store  # noqa: E402
from nightscan_common.formats.tree_store import ROWID_QUERY, key_path  # noqa: E402
from nightscan_common.formats.webdataset_store import shard_paths  # noqa: E402
from nightscan_common.plans.spectrogram_plan import plan_jobs  # noqa: E402

PY = sys.executable
BATCH = 64
INSERT = ("INSERT INTO audio_samples (id, file_path, class_name, is_augmented, original_file, "
          "augmentation_type, split, group_key) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)")


def write_index(db: Path, rows: int, *, classes: int = 50, splits: bool = True) -> Path:
    """``rows`` rows, ``classes`` classes; every 10th row in val, the next in test (with ``splits``)."""
    db.unlink(missing_ok=True)
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)

    def row(i: int) -> tuple:
        cls = f"class_{i % classes:03d}"
        split = "train" if not splits or i % 10 < 8 else ("val", "test")[i % 10 - 8]
        path = f"{cls}/rec_{i:07d}_original.wav"
        return i + 1, path, cls, 0, path, split, f"{cls}/g{i // 7}"

    for start in range(0, rows, 100_000):
        con.executemany(INSERT, (row(i) for i in range(start, min(rows, start + 100_000))))
    con.commit()
    con.close()
    return db


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else 0.0


# --- 1. reads -------------------------------------------------------------------------


def build_read_set(work: Path, items: int, shape: tuple[int, ...]) -> tuple[Path, Path]:
    """The same ``items`` arrays in each layout below ``work/<layout>``, written through the stores."""
    work.mkdir(parents=True, exist_ok=True)
    db = write_index(work / "reads.db", items, classes=10, splits=False)
    jobs, _ = plan_jobs(read_index_rows(db))
    spec = ArraySpec(shape, "float32")
    labels = label_map(f"class_{i:03d}" for i in range(10))
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(spec.shape, dtype=np.float32) for _ in range(min(items, 64))]
    for layout in LAYOUTS:
        out = work / layout
        shutil.rmtree(out, ignore_errors=True)
        store = make_store(layout, out, spec=spec, labels=labels, index_db=db)
        store.prepare(jobs, overwrite=False)
        writer = store.writer()
        for i, job in enumerate(jobs):
            store.record(job, writer.put(job, arrays[i % len(arrays)]))
        store.finalize()
        write_labels(out, labels)
    return work, db


def bench_reads(work: Path, db: Path, items: int, shape: tuple[int, ...]) -> dict[str, float]:
    """Items/s of each way of reading the split; random order unless said."""
    order = random.Random(1).sample(range(items), items)
    jobs, _ = plan_jobs(read_index_rows(db))
    paths = [key_path(work / "tree", job.key) for job in jobs]

    batch = _batch(shape)

    def timed(folder: Path, read, indexes) -> float:
        warm_cache(folder)
        start = time.perf_counter()
        for n, i in enumerate(indexes):
            batch[n % BATCH] = read(i)
        return _rate(len(indexes), time.perf_counter() - start)

    baseline = timed(work / "tree", lambda i: np.load(paths[i]), order)
    figures = {"np.load per file (NightScan's read), random": baseline}
    for layout in LAYOUTS:
        ds = SpectrogramDataset(work / layout, "train", layout=layout, index_db=db)
        figures[f"reader, {layout}, random"] = timed(work / layout, lambda i, ds=ds: ds[i][0], order)
        if layout == "packed":  # a loader worker's next epoch: the mapping is in place
            again = random.Random(3).sample(order, len(order))
            figures["reader, packed, random, next epoch"] = timed(work / layout, lambda i, ds=ds: ds[i][0],
                                                                  again)
    ds = SpectrogramDataset(work / "webdataset", "train")
    figures["reader, webdataset, in order"] = timed(work / "webdataset", lambda i: ds[i][0], range(items))
    figures["webdataset package, in order"] = _webdataset_package(work / "webdataset", items, batch)
    return figures


def _batch(shape: tuple[int, ...]) -> np.ndarray:
    """A batch to copy items into; its pages are faulted in now, not in the first timed pass."""
    batch = np.zeros((BATCH, *shape), np.float32)
    batch.fill(1)
    return batch


def _webdataset_package(out: Path, items: int, batch: np.ndarray) -> float:
    import webdataset as wds

    warm_cache(out)
    urls = [str(p) for p in shard_paths(out, "train")]
    start = time.perf_counter()
    count = 0
    for sample in wds.WebDataset(urls, shardshuffle=False, empty_check=False).decode():
        batch[count % BATCH] = sample["npy"]
        count += 1
    assert count == items
    return _rate(count, time.perf_counter() - start)


# --- 2. lookups -----------------------------------------------------------------------


def bench_lookups(work: Path, rows: int, *, sampled: int, offset_queries: int) -> dict[str, float]:
    """Seconds to open, and per item, for NightScan's loader and the reader on a big index."""
    db = work / "big.db"
    start = time.perf_counter()
    write_index(db, rows)
    figures = {"index build s": time.perf_counter() - start}
    out = work / "lookup_out"
    shutil.rmtree(out, ignore_errors=True)
    (out / "train").mkdir(parents=True)
    write_labels(out, label_map(f"class_{i:03d}" for i in range(50)))

    start = time.perf_counter()
    ours = SpectrogramDataset(out, "train", layout="tree", index_db=db)
    figures["reader open s"] = time.perf_counter() - start
    start = time.perf_counter()
    theirs = CachedSpectrogramLoader(db, work, out, "train")
    figures["NightScan open s"] = time.perf_counter() - start

    picks = random.Random(2).sample(range(len(ours)), sampled)
    con = sqlite3.connect(db)
    train = con.execute("SELECT file_path, class_name FROM audio_samples WHERE split = 'train' "
                        "ORDER BY id").fetchall()
    con.close()
    tiny = np.zeros((2, 2), np.float32)
    for i in picks:  # the items served must exist; tiny, so that the lookup is what is timed
        file_path, class_name = train[i]
        path = out / "train" / class_name / f"{Path(file_path).stem}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, tiny)
    start = time.perf_counter()
    for i in picks:
        ours[i]
    figures["reader ms/item"] = (time.perf_counter() - start) / sampled * 1e3
    start = time.perf_counter()
    for i in picks[:offset_queries]:
        theirs[i]
    figures["NightScan ms/item"] = (time.perf_counter() - start) / offset_queries * 1e3
    start = time.perf_counter()
    for i in picks[:offset_queries]:
        theirs.row(i)
    figures["OFFSET query ms"] = (time.perf_counter() - start) / offset_queries * 1e3
    theirs.close()
    con = connect_read_only(db)
    rowids = [r for (r,) in con.execute("SELECT id FROM audio_samples WHERE split = 'train' ORDER BY id")]
    start = time.perf_counter()
    for i in picks:
        con.execute(ROWID_QUERY, (rowids[i],)).fetchone()
    figures["rowid query ms"] = (time.perf_counter() - start) / len(picks) * 1e3
    con.close()
    return figures


# --- 3. builds ------------------------------------------------------------------------


def bench_builds(work: Path, files: int, *, workers: int, repeat: int, shard_size: int) -> dict[str, dict]:
    """Step 3 on ``files`` 2 s clips in each layout: best wall time of ``repeat`` runs, bytes on disk."""
    pool = work / "pool"
    names = [f"class_{i % 5:03d}/rec_{i:07d}_original.wav" for i in range(files)]
    for i, name in enumerate(names):
        if not (pool / name).exists():
            write_recording(pool / name, call="hoots", seconds=2.0, samplerate=22050, seed=i)
    db = write_index(work / "build.db", files, classes=5)
    figures: dict[str, dict] = {layout: {"wall": float("inf"), "walls": []} for layout in LAYOUTS}
    for _ in range(repeat):
        for layout in LAYOUTS:
            out = work / f"build_{layout}"
            shutil.rmtree(out, ignore_errors=True)
            warm_cache(pool)
            m = measure(layout, [PY, str(ROOT / "pregenerate_spectrograms_simple.py"), "--index-db", str(db),
                                 "--pool-root", str(pool), "--output-dir", str(out), "--num-workers",
                                 str(workers), "--layout", layout, "--shard-size", str(shard_size), "-q"])
            own = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".npy", ".csv", ".tar")]
            figures[layout].update(wall=min(figures[layout]["wall"], m.wall), bytes=disk_usage(own),
                                   files=len(own))
            figures[layout]["walls"].append(round(m.wall, 3))
    return figures


def report(reads: dict, lookups: dict, builds: dict, args: argparse.Namespace) -> str:
    base = reads["np.load per file (NightScan's read), random"]
    shape = " x ".join(map(str, _read_shape(args)))
    lines = [f"reads: {args.items} items of {shape} float32, warm page cache", ""]
    lines += [f"  {name:<46}{rate:>10,.0f} items/s  {rate / base:>5.2f}x" for name, rate in reads.items()]
    lines += ["", f"lookups on a {args.index_rows:,}-row index (train: {int(args.index_rows * 0.8):,} rows)",
              f"  NightScan's loader (OFFSET per item): {lookups['NightScan ms/item']:10.3f} ms/item, "
              f"opened in {lookups['NightScan open s']:.2f} s",
              f"  reader, tree layout (rowid per item): {lookups['reader ms/item']:10.3f} ms/item, "
              f"opened in {lookups['reader open s']:.2f} s",
              f"  per item: {lookups['NightScan ms/item'] / lookups['reader ms/item']:,.0f}x faster "
              f"(index built in {lookups['index build s']:.1f} s)",
              f"  the query alone: OFFSET {lookups['OFFSET query ms']:.3f} ms, rowid "
              f"{lookups['rowid query ms'] * 1e3:.1f} us, "
              f"{lookups['OFFSET query ms'] / lookups['rowid query ms']:,.0f}x",
              "", f"builds: step 3 on {args.build_files} clips, {args.workers} workers, "
              f"best of {args.repeat}, shard size {args.shard_size}"]
    tree = builds["tree"]
    for layout, b in builds.items():
        lines.append(f"  {layout:<12}{b['wall']:>7.2f} s  ratio to tree {b['wall'] / tree['wall']:5.3f}  "
                     f"{b['bytes'] / 1e6:>8.1f} MB on disk in {b['files']} file(s)")
    return "\n".join(lines)


def _read_shape(args: argparse.Namespace) -> tuple[int, ...]:
    return PRESETS["general"].replace(channels=args.channels).shape


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", action="store_true", help="tiny sizes: every figure, in seconds")
    p.add_argument("--items", type=int, default=10_000)
    p.add_argument("--channels", type=int, choices=(1, 3), default=1,
                   help="channels of the arrays read (3: the shape of NightScan's earlier tree)")
    p.add_argument("--index-rows", type=int, default=1_000_000)
    p.add_argument("--build-files", type=int, default=400)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--shard-size", type=int, default=100)
    p.add_argument("--workers", type=int, default=default_num_workers())
    p.add_argument("--dir", type=Path, default=ROOT / "bench" / "results" / "dataset")
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    if args.small:
        args.items, args.index_rows, args.build_files, args.repeat, args.shard_size = 60, 20_000, 12, 1, 5
    args.dir.mkdir(parents=True, exist_ok=True)
    work, db = build_read_set(args.dir / "reads", args.items, _read_shape(args))
    reads = bench_reads(work, db, args.items, _read_shape(args))
    lookups = bench_lookups(args.dir, args.index_rows, sampled=min(2000, args.index_rows // 10),
                            offset_queries=5 if args.small else 15)
    builds = bench_builds(args.dir, args.build_files, workers=args.workers, repeat=args.repeat,
                          shard_size=args.shard_size)
    print(report(reads, lookups, builds, args))
    if args.json:
        args.json.write_text(json.dumps({"reads": reads, "lookups": lookups, "builds": builds}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
