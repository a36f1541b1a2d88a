"""Benchmark of step 3: our spectrogram run against a plain librosa loop and the bare work.

On a generated pool of 8 s clips (half 44.1 kHz mono, half 48 kHz stereo), with the same
number of workers, it times:

(a) ``run_spectrograms`` against a plain per-file librosa loop in a multiprocessing
    Pool (librosa.load, melspectrogram, power_to_db, np.save; no thread pinning),
    and the same loop with BLAS pinned, to show where the gap comes from;
(b) ``run_spectrograms`` against the bare per-file work in a tight loop, same pool,
    BLAS pinned (soundfile window read, soxr, STFT, mel, dB, np.save);
(c) the peak memory of our workers over 500 files and over all the clips;
and our run with 1 worker against all cores. Each method runs ``--rounds`` times,
interleaved, and its best time counts (the machine's load varies). It prints a
report; it is not a test.

    python bench/bench_spectrograms.py --clips 2000
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import librosa  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
import soxr  # noqa: E402

from nightscan_common.dsp.animals import PRESETS  # noqa: E402
from nightscan_common.dsp.spectrogram import hann_window, mel_basis  # noqa: E402
from nightscan_common.dsp.synthetic import CALLS, write_recording  # noqa: E402
from nightscan_common.execution.base import default_num_workers  # noqa: E402
from nightscan_common.execution.cluster import RunOptions  # noqa: E402
from nightscan_common.formats.index_db import SCHEMA
from nightscan_common.io.audio_io import mix_to_mono  # noqa: E402
from nightscan_common.steps.spectrograms import run_spectrograms  # noqa: E402
from nightscan_common.vocabulary import SPLITS

CONFIG = PRESETS["general"]
SR, N = CONFIG.sample_rate, CONFIG.n_samples
FORMATS = [(44100, 1), (48000, 2)]  # (sample rate, channels), alternating


# --- the pool ------------------------------------------------------------------------


def _write_clip(args: tuple[Path, int]) -> None:
    path, i = args
    rate, channels = FORMATS[i % len(FORMATS)]
    calls = sorted(CALLS)
    write_recording(path, call=calls[i % len(calls)], seconds=8.0, samplerate=rate, channels=channels,
                    seed=i)


def make_pool(root: Path, clips: int, workers: int) -> list[str]:
    """``clips`` 8 s recordings in five classes; returns their pool-relative paths."""
    rel = [f"class_{i % 5}/clip_{i:05d}_original.wav" for i in range(clips)]
    for r in rel:
        (root / r).parent.mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_write_clip, [(root / r, i) for i, r in enumerate(rel)], chunksize=16)
    return rel


def write_index(db: Path, rel: list[str]) -> Path:
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    con.executemany(
        "INSERT INTO audio_samples (file_path, class_name, is_augmented, original_file, "
        "augmentation_type, split, group_key) VALUES (?, ?, 0, ?, NULL, ?, ?)",
        [(r, r.split("/")[0], r, SPLITS[i % 3], r) for i, r in enumerate(rel)])
    con.commit()
    con.close()
    return db


# --- the two baselines -----------------------------------------------------------------


def _plain_librosa(job: tuple[str, str]) -> None:
    """What a plain script does per file, librosa all the way."""
    src, dst = job
    y, _ = librosa.load(src, sr=SR, mono=True, duration=CONFIG.duration)
    y = librosa.util.fix_length(y, size=N)
    mel = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=2048, hop_length=512, n_mels=128,
                                         fmin=50, fmax=11000)
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80)
    np.save(dst, ((db - db.mean()) / (db.std() + 1e-6)).astype(np.float32))


def _bare(job: tuple[str, str]) -> None:
    """The least work one spectrogram takes: no checks, no atomic write, no bookkeeping."""
    src, dst = job
    with sf.SoundFile(src) as f:
        rate = f.samplerate
        data = f.read(frames=-(-N * rate // SR) + 2048, dtype="float32", always_2d=True)
    y = soxr.resample(mix_to_mono(data), rate, SR, quality="HQ")[:N]
    y = np.pad(y, (0, N - len(y)))
    stft = librosa.stft(y, n_fft=2048, hop_length=512, window=hann_window(2048))
    mel = mel_basis(CONFIG) @ (stft.real**2 + stft.imag**2)
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - 80.0)
    np.save(dst, (db - db.mean()) / (db.std() + 1e-6))


def _pin() -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def run_baseline(func, pool_root: Path, rel: list[str], out: Path, workers: int, *, pinned: bool) -> float:
    """Wall seconds of ``func`` over every clip in a plain multiprocessing pool."""
    jobs = []
    for r in rel:
        dst = out / r.replace(".wav", ".npy")
        dst.parent.mkdir(parents=True, exist_ok=True)
        jobs.append((str(pool_root / r), str(dst)))
    ctx = multiprocessing.get_context("fork")
    start = time.perf_counter()
    with ctx.Pool(workers, initializer=_pin if pinned else None) as pool:
        pool.map(func, jobs, chunksize=8)
    return time.perf_counter() - start


# --- ours ----------------------------------------------------------------------------


def run_ours(db: Path, pool_root: Path, out: Path, workers: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    report = run_spectrograms(db, pool_root, out, CONFIG, run=RunOptions(num_workers=workers, progress=False))
    elapsed = time.perf_counter() - start
    assert not report.failures, report.failures[:3]
    return elapsed


def _memory_probe(db: Path, pool_root: Path, out: Path, workers: int, queue) -> None:
    run_ours(db, pool_root, out, workers)
    queue.put(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def worker_peak_mb(db: Path, pool_root: Path, out: Path, workers: int) -> float:
    """Largest worker's peak RSS (MB), measured in a fresh process whose only children are ours."""
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    probe = ctx.Process(target=_memory_probe, args=(db, pool_root, out, workers, queue))
    probe.start()
    peak = queue.get()
    probe.join()
    return peak


# --- the report ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=2000, help="clips in the pool (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=default_num_workers(),
                        help="workers for every method (default: all cores, %(default)s here)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="timed runs of each method, interleaved; the best counts (default: %(default)s)")
    parser.add_argument("--dir", type=Path, help="working folder (default: a temporary one, removed)")
    args = parser.parse_args(argv)
    work = args.dir or Path(tempfile.mkdtemp(prefix="bench_spectrograms_"))
    try:
        return _bench(work, args.clips, args.workers, args.rounds)
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


def _bench(work: Path, clips: int, workers: int, rounds: int) -> int:
    pool_root = work / "pool"
    t0 = time.perf_counter()
    rel = make_pool(pool_root, clips, workers)
    db = write_index(work / "index.db", rel)
    small = write_index(work / "index_500.db", rel[:500])
    print(f"pool: {clips} clips of 8 s (44.1 kHz mono / 48 kHz stereo), made in "
          f"{time.perf_counter() - t0:.0f} s; {workers} workers; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    _plain_librosa((str(pool_root / rel[0]), str(work / "warm.npy")))  # imports, numba: not timed

    methods = {
        "ours (run_spectrograms)": lambda: run_ours(db, pool_root, work / "ours", workers),
        "plain librosa loop, Pool": lambda: run_baseline(
            _plain_librosa, pool_root, rel, work / "plain", workers, pinned=False),
        "plain librosa loop, Pool, BLAS pinned": lambda: run_baseline(
            _plain_librosa, pool_root, rel, work / "plain_pinned", workers, pinned=True),
        "bare work, Pool, BLAS pinned": lambda: run_baseline(
            _bare, pool_root, rel, work / "bare", workers, pinned=True),
        "ours, 1 worker": lambda: run_ours(db, pool_root, work / "ours_1", 1),
    }
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):  # interleaved rounds, best kept: the machine's load varies
        for name, run in methods.items():
            times[name].append(run())
    best = {name: min(t) for name, t in times.items()}
    peak_500 = worker_peak_mb(small, pool_root, work / "mem_500", workers)
    peak_all = worker_peak_mb(db, pool_root, work / "mem_all", workers)

    print(f"\n{'method':40} {'workers':>7} {'best s':>8} {'files/s':>8}  all runs (s)")
    for name, seconds in best.items():
        w = 1 if name == "ours, 1 worker" else workers
        runs = " ".join(f"{t:.2f}" for t in times[name])
        print(f"{name:40} {w:7d} {seconds:8.2f} {clips / seconds:8.1f}  {runs}")
    ours = best["ours (run_spectrograms)"]
    print(f"\n(a) plain librosa / ours: {best['plain librosa loop, Pool'] / ours:.2f}x (target >= 2.5x); "
          f"BLAS-pinned plain librosa / ours: {best['plain librosa loop, Pool, BLAS pinned'] / ours:.2f}x")
    print(f"(b) ours / bare: {ours / best['bare work, Pool, BLAS pinned']:.2f}x (target <= 1.2x)")
    print(f"(c) largest worker's peak RSS: {peak_500:.0f} MB over {min(500, clips)} files, "
          f"{peak_all:.0f} MB over {clips}")
    print(f"1 -> {workers} workers: {best['ours, 1 worker'] / ours:.2f}x faster; load average now "
          f"{os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
