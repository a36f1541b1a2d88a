"""The whole pipeline's benchmark: the three steps on a seed-shaped data set, with baselines.

Generates 10 classes of 39 to 2,000 recordings (mostly 8 s clips, one in 25 of 30 to
120 s, 44.1/48 kHz, mono/stereo), runs the three scripts as a user does, with all cores
and target 500, and prints per step: wall, CPU and system seconds, files per second, the peak
memory of the parent and of the largest worker, and the bytes written. In the same run,
on the same files, it compares:

- step 1 with its bare work (``bare_pool.py``: the same plan in a tight loop);
- step 3 with a plain per-file librosa loop and with the bare computation
  (``baseline_spectrograms.py``), in pools of the same size;
- each of steps 1 and 3 with 1 worker and with all cores;
- worker memory over 500 files against 5,000 (one class of like 8 s clips for step 1;
  a tenth of the index against all of it for step 3);
- the spectrogram tree against the 3-channel float32 tree of NightScan's earlier script.

    python bench/run_bench.py            # the full data set (about 25 min on 2 cores)
    python bench/run_bench.py --small    # 4 % of it, target 20 (under 2 min)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from measure import Measure, measure, tree_bytes  # noqa: E402
from seed_dataset import make_dataset, make_uniform_class  # noqa: E402

from nightscan_common.execution.base import default_num_workers  # noqa: E402
from nightscan_common.formats.index_db import read_index_rows  # noqa: E402

PY = sys.executable


def _script(name: str, *args: object) -> list[str]:
    return [PY, str(ROOT / name), *map(str, args), "-q"]


def warm_cache(folder: Path) -> None:
    """Read every file below ``folder`` once, so that each timed run starts from the page
    cache: the runs write tens of GB between them, and a run that happens to read from
    disk would look slower for reasons not its own."""
    for p in folder.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                while fh.read(1 << 24):
                    pass


def _count(folder: Path, suffix: str) -> int:
    return sum(1 for p in folder.rglob(f"*{suffix}") if p.is_file())


def _trim_index(db: Path, dst: Path, rows: int) -> Path:
    shutil.copyfile(db, dst)
    con = sqlite3.connect(dst)
    con.execute("DELETE FROM audio_samples WHERE id NOT IN "
                "(SELECT id FROM audio_samples ORDER BY id LIMIT ?)", (rows,))
    con.commit()
    con.execute("VACUUM")
    con.close()
    return dst


def run(work: Path, *, scale: float, target: int, workers: int, clip_seconds: float = 8.0) -> dict:
    audio, pool, db = work / "audio", work / "pool", work / "index.db"
    t0 = time.perf_counter()
    recordings = make_dataset(audio, scale=scale, workers=workers, clip_seconds=clip_seconds)
    print(f"data set: {recordings} recordings, {tree_bytes(audio) / 1e9:.2f} GB, made in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    results: dict[str, Measure] = {}

    def step1(name: str, out: Path, w: int, tgt: int = target) -> None:
        shutil.rmtree(out, ignore_errors=True)
        warm_cache(audio)
        results[name] = measure(name, _script("create_augmented_pool.py", "--audio-root", audio,
                                              "--output-dir", out, "--target-samples", tgt,
                                              "--num-workers", w), output=out)
        results[name].files = sum(len(list((out / c).iterdir())) for c in os.listdir(out)
                                  if (out / c).is_dir())
        print(f"  {name}: {results[name].wall:.1f} s", flush=True)

    def step3(name: str, index: Path, out: Path, w: int) -> None:
        shutil.rmtree(out, ignore_errors=True)
        warm_cache(pool)
        results[name] = measure(name, _script("pregenerate_spectrograms_simple.py", "--index-db", index,
                                              "--pool-root", pool, "--output-dir", out,
                                              "--num-workers", w), output=out)
        results[name].files = _count(out, ".npy")
        print(f"  {name}: {results[name].wall:.1f} s", flush=True)

    step1("step 1", pool, workers)
    bare = [PY, str(HERE / "bare_pool.py"), str(pool), str(audio), str(work / "bare_pool"), str(workers)]
    shutil.rmtree(work / "bare_pool", ignore_errors=True)
    warm_cache(audio)
    results["step 1 bare work"] = measure("step 1 bare work", bare, output=work / "bare_pool")
    shutil.rmtree(work / "bare_pool")
    results["step 1 bare work"].files = results["step 1"].files
    step1("step 1, 1 worker", work / "pool_1w", 1)
    shutil.rmtree(work / "pool_1w")
    # Worker memory against run length, on one class of like clips so that only the
    # number of files differs: K originals brought to 10*K... then 100*K files.
    mem_audio = work / "memory_audio"
    k = max(5, target // 10)
    make_uniform_class(mem_audio / "clips", k, clip_seconds)
    for files, name in ((target, "step 1, few files"), (10 * target, "step 1, many files")):
        out = work / name.replace(" ", "_").replace(",", "")
        shutil.rmtree(out, ignore_errors=True)
        results[name] = measure(name, _script("create_augmented_pool.py", "--audio-root", mem_audio,
                                              "--output-dir", out, "--target-samples", files,
                                              "--max-augmentations", files, "--num-workers", workers),
                                output=out, files=files)
        shutil.rmtree(out)
        print(f"  {name}: {results[name].wall:.1f} s", flush=True)

    db.unlink(missing_ok=True)
    results["step 2"] = measure("step 2", _script("create_balanced_index.py", "--pool-dir", pool,
                                                  "--output-db", db), output=None)
    results["step 2"].files = len(read_index_rows(db))
    results["step 2"].bytes_written = db.stat().st_size

    rows = read_index_rows(db)
    step3("step 3", db, work / "spec", workers)
    step3("step 3, 1 worker", db, work / "spec_1w", 1)
    step3("step 3, few files", _trim_index(db, work / "index_few.db", len(rows) // 10), work / "spec_few",
          workers)
    for mode, name in (("plain", "step 3 plain librosa"), ("bare", "step 3 bare work")):
        out = work / f"baseline_{mode}"
        shutil.rmtree(out, ignore_errors=True)
        warm_cache(pool)
        results[name] = measure(name, [PY, str(HERE / "baseline_spectrograms.py"), mode, str(db), str(pool),
                                       str(out), str(workers)], output=out, files=len(rows))
        print(f"  {name}: {results[name].wall:.1f} s", flush=True)
    legacy_bytes = len(rows) * (3 * 128 * 345 * 4 + 128)  # NightScan's earlier (3, 128, 345) float32
    return {"results": results, "recordings": recordings, "legacy_bytes": legacy_bytes,
            "workers": workers, "target": target}


def report(r: dict) -> str:
    res: dict[str, Measure] = r["results"]
    lines = [f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, {r['workers']} workers, target {r['target']}",
             "", f"{'run':<24}{'wall s':>8}{'cpu s':>8}{'sys s':>7}{'files':>7}{'files/s':>9}"
             f"{'parent MB':>11}{'worker MB':>11}{'written MB':>12}"]
    for m in res.values():
        cpu, sys_cpu, parent, worker = (f"{v:.0f}" if v else "-"
                                        for v in (m.cpu, m.sys_cpu, m.parent_peak_mb, m.worker_peak_mb))
        lines.append(f"{m.name:<24}{m.wall:>8.1f}{cpu:>8}{sys_cpu:>7}{m.files:>7}{m.files_per_s:>9.1f}"
                     f"{parent:>11}{worker:>11}{m.bytes_written / 1e6:>12.1f}")

    def ratio(a: str, b: str) -> float:
        return res[a].wall / res[b].wall

    lines += ["", "comparisons (wall-time ratios, same run, same files):",
              f"  step 1 / its bare work:       {ratio('step 1', 'step 1 bare work'):.2f}  (bar: <= 1.2)",
              f"  step 3 / its bare work:       {ratio('step 3', 'step 3 bare work'):.2f}  (bar: <= 1.2)",
              f"  plain librosa loop / step 3:       {ratio('step 3 plain librosa', 'step 3'):.2f}"
              "  (bar: >= 2.5)",
              f"  step 1: 1 worker / {r['workers']} workers:      "
              f"{ratio('step 1, 1 worker', 'step 1'):.2f}  (bar: >= 1.7)",
              f"  step 3: 1 worker / {r['workers']} workers:      "
              f"{ratio('step 3, 1 worker', 'step 3'):.2f}  (bar: >= 1.7)",
              _memory_line(res, "step 1"), _memory_line(res, "step 3"),
              f"  largest parent peak:               "
              f"{max(m.parent_peak_mb for m in res.values()):.0f} MB  (bar: < 500)",
              f"  spectrogram tree / 3-channel float32 tree: "
              f"{res['step 3'].bytes_written / r['legacy_bytes']:.3f}  (bar: <= 1/3)"]
    return "\n".join(lines)


def _memory_line(res: dict[str, Measure], step: str) -> str:
    big, small = res[f"{step}, many files" if step == "step 1" else step], res[f"{step}, few files"]
    return (f"  {step} worker memory, {big.files} vs {small.files} files: "
            f"{big.worker_peak_mb / max(small.worker_peak_mb, 1e-9):.2f}  (bar: <= 1.10)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", action="store_true", help="4 %% of the data set, target 20")
    p.add_argument("--scale", type=float, help="fraction of the data set (overrides --small)")
    p.add_argument("--target", type=int, help="target samples per class (overrides --small)")
    p.add_argument("--workers", type=int, default=default_num_workers())
    p.add_argument("--dir", type=Path, default=ROOT / "bench" / "results" / "work",
                   help="working folder; the data set in it is reused (default: %(default)s)")
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    p.add_argument("--clip-seconds", type=float, default=8.0,
                   help="length of a short recording; the long ones scale with it (default: %(default)s)")
    args = p.parse_args(argv)
    scale = args.scale or (0.04 if args.small else 1.0)
    target = args.target or (20 if args.small else 500)
    work = args.dir / f"scale{scale:g}" / f"clip{args.clip_seconds:g}"
    work.mkdir(parents=True, exist_ok=True)
    r = run(work, scale=scale, target=target, workers=args.workers, clip_seconds=args.clip_seconds)
    text = report(r)
    print(text)
    if args.json:
        args.json.write_text(json.dumps({k: vars(m) for k, m in r["results"].items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
