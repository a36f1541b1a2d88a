#!/usr/bin/env python3
"""Benchmark of make_report.py on 1,500 classes x 500 files (750,000 rows): its time, memory and size.

The pool metadata and the index are synthetic, written straight to a temporary folder
(the report reads figures from them, never the audio); one class in 100 is short of the
target. Only the files that the listen-and-look grid may play exist, as hard links to
one 8 s recording. The report is made by the real front end in a subprocess.

    python bench/bench_report.py                     # 1500 x 500
    python bench/bench_report.py --classes 10        # 10 classes of 500: the page's size
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench_index import class_files, run_measured

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nightscan_common.dsp.synthetic import write_recording  # noqa: E402
from nightscan_common.formats.index_db import SCHEMA, TABLE  # noqa: E402
from nightscan_common.formats.pool_metadata import METADATA_FILENAME  # noqa: E402
from nightscan_common.report.listen import ListenOptions  # noqa: E402

TIME_LIMIT_S = 60.0
SIZE_LIMIT_MB = 10.0
RATES = (22050, 44100, 48000)


def make_inputs(folder: Path, classes: int, files_per_class: int) -> None:
    """``pool/pool_metadata.json`` and ``index.db`` of ``classes`` classes; the grid's files.

    Run in a process of its own: a child's peak memory counts that of the process it was
    forked from, so the process that starts the report must stay small.
    """
    pool, db = folder / "pool", folder / "index.db"
    pool.mkdir()
    meta_classes, rows, shown = {}, [], []
    for c in range(classes):
        name = f"species_{c:04d}"
        n = files_per_class - (files_per_class // 10 if c % 100 == 7 else 0)
        files = class_files(name, n, originals=min(40, n))
        for i, f in enumerate(files):
            f |= {"frames": 22050 * (2 + i % 11), "samplerate": RATES[i % 3], "channels": 1 + i % 2}
            if "params" in f:
                f["params"] = {"rate": 0.8 + (i % 45) / 100, "snr_db": 10 + i % 21, "gain_db": -(i % 7)}
        meta_classes[name] = {"original_count": 40, "selected_originals": 40, "total_count": n,
                              "reached_target": n == files_per_class,
                              "short_by": files_per_class - n, "files": files}
        sources = sorted({f["source"] for f in files})
        split_of = {s: "train" if i % 10 < 8 else "val" if i % 10 == 8 else "test"
                    for i, s in enumerate(sources)}
        rows += [(f"{name}/{f['filename']}", name, int(f["type"] == "augmented"), f"{name}/{f['source']}",
                  f.get("augmentation"), split_of[f["source"]], f"{name}/{f['source']}") for f in files]
        if n < files_per_class or len(shown) < ListenOptions().classes:
            shown.append(name)
    meta = {"format_version": 1, "target_samples_per_class": files_per_class, "params": {"seed": 42},
            "classes": meta_classes, "skipped": [{"path": "species_0000/bad.wav", "reason": "truncated"}]}
    (pool / METADATA_FILENAME).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    with sqlite3.connect(db) as con:
        con.executescript(SCHEMA)
        con.executemany(f"INSERT INTO {TABLE} (file_path, class_name, is_augmented, original_file, "
                        "augmentation_type, split, group_key) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("INSERT INTO index_info VALUES ('ratios', ?)",
                    (json.dumps({"train": 0.8, "val": 0.1, "test": 0.1}),))
    recording = folder / "recording.wav"
    write_recording(recording, call="hoots", seconds=8.0, samplerate=22050, seed=1)
    for name in shown:  # the classes the grid may show: the short ones, then the first by name
        (pool / name).mkdir()
        for f in meta_classes[name]["files"]:
            os.link(recording, pool / name / f["filename"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=1500)
    parser.add_argument("--files-per-class", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nightscan-bench-") as tmp:
        t0 = time.perf_counter()
        writer = multiprocessing.get_context("fork").Process(
            target=make_inputs, args=(Path(tmp), args.classes, args.files_per_class))
        writer.start()
        writer.join()
        pool, db = Path(tmp) / "pool", Path(tmp) / "index.db"
        setup = time.perf_counter() - t0
        out = Path(tmp) / "report"
        wall, peak_mb = run_measured([str(ROOT / "make_report.py"), "--pool-dir", str(pool),
                                      "--index-db", str(db), "--output-dir", str(out), "-q"])
        meta_mb = (pool / METADATA_FILENAME).stat().st_size / 1e6
        html_mb = (out / "report.html").stat().st_size / 1e6
        json_mb = (out / "report.json").stat().st_size / 1e6
        rows = sum(1 for _ in sqlite3.connect(db).execute(f"SELECT 1 FROM {TABLE}"))
    print(f"inputs: {args.classes} classes x {args.files_per_class} files = {rows:,} rows "
          f"(metadata {meta_mb:.0f} MB, written in {setup:.1f} s)")
    print(f"make_report.py: {wall:.1f} s, peak RSS {peak_mb:.0f} MB; report.html {html_mb:.1f} MB, "
          f"report.json {json_mb:.1f} MB")
    ok = wall < TIME_LIMIT_S and html_mb < SIZE_LIMIT_MB
    print(f"limits: < {TIME_LIMIT_S:.0f} s and a page < {SIZE_LIMIT_MB:.0f} MB: {'met' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
