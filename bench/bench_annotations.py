#!/usr/bin/env python3
"""Benchmark of step 1's --annotations: clips of a long 48 kHz recording from a detection CSV.

Writes a recording (48 kHz mono 16-bit, block by block) with 500 detections and their
CSV in NightScan's layout (``results/<folder>/<stem>.csv``, the 5-column
``Start (s),End (s),Scientific name,Common name,Confidence``), then measures, each in a
subprocess on one core:

- ours: ``create_augmented_pool.py --annotations results --clip 3 --target-samples 500``
  (500 clips, no augmentation), on the long recording and on a quarter of it with the
  same 500 detections: peak memory must be flat in the recording's length;
- the baseline: NightScan's ``extract_segments_from_results.py`` as its README describes
  it, reimplemented here (the script itself is not part of this project): for each
  detection, ``librosa.load`` decodes and resamples the whole recording to 22,050 Hz,
  then the segment is written with ``soundfile`` as
  ``<species>/<stem>_seg<ms>_conf<pct>.wav``. Every detection costs the same whole-file
  decode, so it runs on the first ``--baseline-detections`` (default 3) and its time is
  scaled to 500; that is said in the output.

    python bench/bench_annotations.py                 # one hour
    python bench/bench_annotations.py --minutes 20
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from measure import measure  # noqa: E402

RATE = 48000
EVENTS = 500
EVENT_S = 1.5  # at most; half the spacing when the recording is too short for it
CLIP_S = 3
TIME_RATIO_AIM = 0.05
MEMORY_RATIO_AIM = 1.2
#: NightScan's segment extraction resamples every recording to this rate.
BASELINE_RATE = 22050


def write_night(base: Path, seconds: float) -> Path:
    """The recording with a call at each detection, and its CSV; returns the results folder."""
    audio, results = base / "audio" / "site1", base / "results" / "site1"
    audio.mkdir(parents=True)
    results.mkdir(parents=True)
    starts = np.linspace(1.0, seconds - EVENT_S - 1.0, EVENTS).round(3)
    length = min(EVENT_S, float(starts[1] - starts[0]) / 2)  # detections never touch: 500 clips
    rng = np.random.default_rng(0)
    with sf.SoundFile(audio / "night.wav", "w", RATE, 1, subtype="PCM_16") as f:
        at = 0
        total = int(seconds * RATE)
        while at < total:
            n = min(total - at, 60 * RATE)
            t = (at + np.arange(n)) / RATE
            block = 0.01 * rng.standard_normal(n)
            for s in starts[(starts + length >= t[0]) & (starts <= t[-1])]:
                inside = (t >= s) & (t < s + length)
                block[inside] += 0.3 * np.sin(2 * np.pi * 2500 * t[inside])
            f.write(block.astype(np.float32))
            at += n
    with open(results / "night.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Start (s)", "End (s)", "Scientific name", "Common name", "Confidence"])
        for i, s in enumerate(starts):
            conf = f"{0.5 + (i % 50) / 100:.2f}"
            w.writerow([f"{s:.3f}", f"{s + length:.3f}", "Strix aluco", "Tawny Owl", conf])
    return base / "results"


def ours(base: Path, name: str, seconds: float):
    results = write_night(base / name, seconds)
    pool = base / name / "pool"
    argv = [sys.executable, str(ROOT / "create_augmented_pool.py"),
            "--audio-root", str(base / name / "audio"), "--annotations", str(results),
            "--output-dir", str(pool), "--clip", str(CLIP_S),
            "--target-samples", str(EVENTS), "--augmentations", "volume", "--num-workers", "1", "-q"]
    m = measure(name, argv, output=pool)
    m.files = len(list(pool.glob("*/*_original.wav")))
    return m, argv


def baseline(results: Path, audio: Path, out: Path, limit: int) -> None:
    """NightScan's extract_segments_from_results.py, as documented: one whole decode per detection."""
    import librosa

    for table in sorted(results.rglob("*.csv")):
        wav = audio / table.relative_to(results).with_suffix(".wav")
        with open(table, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))[:limit]
        for row in rows:
            y, sr = librosa.load(wav, sr=BASELINE_RATE, mono=True)
            start, end = float(row["Start (s)"]), float(row["End (s)"])
            segment = y[int(start * sr): int(end * sr)]
            species = row["Scientific name"].replace(" ", "_")
            (out / species).mkdir(parents=True, exist_ok=True)
            name = f"{wav.stem}_seg{int(start * 1000)}_conf{int(float(row['Confidence']) * 100)}.wav"
            sf.write(out / species / name, segment, sr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--baseline-detections", type=int, default=3)
    parser.add_argument("--run-baseline", nargs=4, metavar=("RESULTS", "AUDIO", "OUT", "LIMIT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_baseline:
        results, audio, out, limit = args.run_baseline
        baseline(Path(results), Path(audio), Path(out), int(limit))
        return 0
    seconds = args.minutes * 60
    with tempfile.TemporaryDirectory(prefix="nightscan-annotations-") as tmp:
        base = Path(tmp)
        short, _ = ours(base, "ours-quarter", seconds / 4)
        long, argv = ours(base, "ours", seconds)
        k = args.baseline_detections
        theirs = measure("nightscan", [sys.executable, __file__, "--run-baseline",
                                       str(base / "ours" / "results"), str(base / "ours" / "audio"),
                                       str(base / "baseline"), str(k)], output=base / "baseline", files=k)
    print(f"machine loaded (2 cores shared); {args.minutes:g} min at {RATE} Hz, {EVENTS} detections")
    print("command: python " + " ".join([Path(argv[1]).name, *argv[2:]]).replace(tmp, "TMP"))
    print(f"{'run':<14}{'clips':>6}{'wall s':>9}{'parent MB':>11}{'worker MB':>11}")
    for m in (short, long, theirs):
        print(f"{m.name:<14}{m.files:>6}{m.wall:>9.1f}{m.parent_peak_mb:>11.0f}{m.worker_peak_mb:>11.0f}")
    per_detection = theirs.wall / k
    scaled = per_detection * EVENTS
    ratio = long.wall / scaled
    print(f"baseline: NightScan's extract_segments_from_results.py reimplemented from its documented "
          f"behaviour (librosa.load of the whole recording at {BASELINE_RATE} Hz per detection, soundfile "
          f"writes); run on {k} detections, {per_detection:.1f} s each, scaled to {EVENTS}: {scaled:.0f} s")
    print(f"time, ours / theirs: {ratio:.4f} (aim: at most {TIME_RATIO_AIM})")
    mem = max(long.parent_peak_mb, long.worker_peak_mb) / max(short.parent_peak_mb, short.worker_peak_mb)
    print(f"peak memory, {args.minutes:g} min / {args.minutes / 4:g} min: {mem:.2f}x "
          f"(aim: < {MEMORY_RATIO_AIM}x); theirs: {max(theirs.parent_peak_mb, theirs.worker_peak_mb):.0f} MB")
    return 0 if ratio <= TIME_RATIO_AIM and mem < MEMORY_RATIO_AIM else 1


if __name__ == "__main__":
    sys.exit(main())
