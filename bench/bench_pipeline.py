#!/usr/bin/env python3
"""Benchmark of the whole pipeline, as a user runs it: ``pipeline.py`` on plain 8 s recordings.

Writes ``--classes`` classes of ``--recordings`` mono 44.1 kHz clips of 8 s each and runs
``pipeline.py`` (the three steps and the report) with ``--num-workers`` and
``--target-samples``, timing the wall and the CPU seconds of every process it starts.
``--checkout DIR`` (repeatable) runs the pipeline of other checkouts too, in turns on the
same files (an older version, for a before/after comparison), and gives each one's
times against the first's.

``--nightscan DIR`` (or NIGHTSCAN_SCRIPTS) compares this checkout with NightScan's earlier
three scripts, run on the same files in the same run, in turns with ours: DIR is the
``audio_training_efficientnet/`` folder of a clone of NightScan, holding
``create_augmented_pool.py``, ``create_balanced_index.py``,
``pregenerate_spectrograms_simple.py`` and ``spectrogram_config.py``. Each script runs as
its own command, from DIR, with the options of its README (BALANCED_WORKFLOW.md) and the
same target and workers as ours (plus ``--save-detailed-metadata`` for step 1, without which
their step 2 fails), on a fresh output folder each round, under
``--nightscan-python`` (or NIGHTSCAN_PYTHON; default: this interpreter), which must import
torch and torchaudio. Ours counts as ``pipeline.py`` whole, report included, against the
sum of their three steps (each its best round): a conservative ratio. The bench prints
both, the pool's audio files and the .npy files each side wrote, and ours/theirs for wall
and CPU against the aim (wall ratio <= 0.1). Their ``create_augmented_pool.py`` uses
``--workers`` only with ``--low-memory``, which their README does not use: their step 1
runs in one process. Without the folder or an interpreter that imports torch and
torchaudio, the bench says why it skips the comparison and runs ours alone; if one of
their steps fails, it prints that step's stderr and exits with status 1.

Setting up NightScan's scripts, once, in a virtual environment of their own:

    git clone https://github.com/GamerXtrem/NightScan
    python3 -m venv nightscan-venv
    nightscan-venv/bin/pip install torch==2.9.1 'torchaudio==2.9.*' 'torchcodec==0.8.*' \\
        numpy tqdm psutil soundfile
    apt-get install ffmpeg      # torchaudio 2.9 decodes through torchcodec, which needs FFmpeg's libraries

    python bench/bench_pipeline.py                                   # 350 recordings, target 100
    python bench/bench_pipeline.py --recordings 20 --classes 2 --target 30 --checkout /older/checkout
    python bench/bench_pipeline.py --nightscan NightScan/audio_training_efficientnet \\
        --nightscan-python nightscan-venv/bin/python
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from measure import Measure, measure  # noqa: E402
from seed_dataset import make_uniform_class  # noqa: E402

from nightscan_common.io.audio_formats import READABLE_EXTENSIONS  # noqa: E402

THEIR_STEPS = ("create_augmented_pool.py", "create_balanced_index.py", "pregenerate_spectrograms_simple.py")
THEIR_FILES = (*THEIR_STEPS, "spectrogram_config.py")
SETUP = ("to compare, give --nightscan (or NIGHTSCAN_SCRIPTS) NightScan's audio_training_efficientnet/ "
         "folder and --nightscan-python (or NIGHTSCAN_PYTHON) a Python with torch and torchaudio "
         "(see the docstring of bench/bench_pipeline.py)")
AIM = 0.1  # ours / theirs, wall


class ComparisonFailed(Exception):
    """One of NightScan's steps failed or wrote nothing: the comparison would be meaningless."""


def nightscan_problem(folder: Path | None, python: str) -> str | None:
    """Why NightScan's scripts cannot run here, or None; checked first so the bench skips, not fails.

    The import check runs from ``folder``, as the scripts do, so it sees what they will see.
    """
    if folder is None:
        return "no NightScan folder given"
    missing = [name for name in THEIR_FILES if not (folder / name).is_file()]
    if missing:
        return f"{folder} lacks {', '.join(missing)}"
    try:
        check = subprocess.run([python, "-c", "import torch, torchaudio"], cwd=folder, capture_output=True,
                               text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} does not run ({exc})"
    if check.returncode:
        last = (check.stderr.strip().splitlines() or ["no message"])[-1]
        return f"{python} cannot import torch and torchaudio ({last})"
    return None


def their_commands(python: str, audio: Path, data: Path, target: int, workers: int) -> list[list[str]]:
    """Their three commands as their README gives them, writing the same layout as ours under ``data``.

    Step 1 also gets ``--save-detailed-metadata``: their step 2 reads the list of files it adds
    to ``pool_metadata.json`` and fails with KeyError 'files' without it.
    """
    pool, db, spec = data / "augmented_pool", data / "balanced_audio_index.db", data / "spectrograms_balanced"
    return [[python, THEIR_STEPS[0], "--audio-root", str(audio), "--output-dir", str(pool),
             "--target-samples", str(target), "--workers", str(workers), "--save-detailed-metadata"],
            [python, THEIR_STEPS[1], "--pool-dir", str(pool), "--output-db", str(db)],
            [python, THEIR_STEPS[2], "--index-db", str(db), "--pool-root", str(pool),
             "--output-dir", str(spec), "--num-workers", str(workers)]]


def run_theirs(folder: Path, commands: list[list[str]]) -> list[Measure]:
    """Each step measured alone, from ``folder`` so that ``spectrogram_config`` imports."""
    runs = []
    for argv in commands:
        try:
            m = measure(argv[1], argv, cwd=folder)
        except RuntimeError as exc:  # measure's report of a status above 1, with the output's tail
            raise ComparisonFailed(str(exc)) from None
        if m.status:
            raise ComparisonFailed(f"{argv[1]} failed ({m.status}):\n{m.extra['stderr'][-2000:]}")
        runs.append(m)
    return runs


def outputs(data: Path) -> tuple[int, int]:
    """(audio files in the pool, .npy files of the spectrograms): proof that a side did the work."""
    pool, spec = data / "augmented_pool", data / "spectrograms_balanced"
    audio = sum(1 for p in pool.rglob("*") if p.suffix.lower() in READABLE_EXTENSIONS and p.is_file())
    npy = sum(1 for p in spec.rglob("*.npy") if not p.name.startswith("."))
    return audio, npy


def best_of(old: tuple[float, float] | None, m: Measure) -> tuple[float, float]:
    """The lowest wall and the lowest CPU seen: the run least disturbed by the machine."""
    return (min(old[0], m.wall), min(old[1], m.cpu)) if old else (m.wall, m.cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=7)
    parser.add_argument("--recordings", type=int, default=50, help="per class")
    parser.add_argument("--target", type=int, default=100, help="--target-samples")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="runs per checkout, in turns (the best counts)")
    parser.add_argument("--checkout", type=Path, action="append", default=[],
                        help="another checkout whose pipeline.py runs on the same files")
    parser.add_argument("--nightscan", type=Path, default=os.environ.get("NIGHTSCAN_SCRIPTS") or None,
                        help="NightScan's audio_training_efficientnet/ folder (default: NIGHTSCAN_SCRIPTS)")
    parser.add_argument("--nightscan-python", default=os.environ.get("NIGHTSCAN_PYTHON") or sys.executable,
                        help="a Python with torch and torchaudio (default: NIGHTSCAN_PYTHON, else this one)")
    args = parser.parse_args(argv)
    checkouts = [ROOT, *(c.resolve() for c in args.checkout)]
    folder = args.nightscan.resolve() if args.nightscan else None
    skipped = nightscan_problem(folder, args.nightscan_python)
    failed = ""
    with tempfile.TemporaryDirectory(prefix="nightscan-bench-") as tmp:
        audio = Path(tmp) / "audio"
        for c in range(args.classes):
            make_uniform_class(audio / f"species_{c}", args.recordings, first_seed=c * args.recordings)
        best: dict[Path, tuple[float, float]] = {}
        made: dict[Path, tuple[int, int]] = {}
        theirs: dict[str, tuple[float, float]] = {}
        their_made = (0, 0)
        for _ in range(args.rounds):
            for checkout in checkouts:
                data = Path(tmp) / "data"
                shutil.rmtree(data, ignore_errors=True)
                m = measure(str(checkout), [sys.executable, str(checkout / "pipeline.py"), "--audio-root",
                                            str(audio), "--data-dir", str(data), "--target-samples",
                                            str(args.target), "--num-workers", str(args.workers), "-q"])
                best[checkout] = best_of(best.get(checkout), m)
                made[checkout] = outputs(data)
            if skipped or failed:
                continue
            data = Path(tmp) / "nightscan"
            shutil.rmtree(data, ignore_errors=True)
            try:
                for m in run_theirs(folder, their_commands(args.nightscan_python, audio, data, args.target,
                                                           args.workers)):
                    theirs[m.name] = best_of(theirs.get(m.name), m)
                their_made = outputs(data)
                if not all(their_made):
                    raise ComparisonFailed(f"their steps exited 0 but wrote {their_made[0]} pool audio files "
                                           f"and {their_made[1]} .npy files")
            except ComparisonFailed as exc:
                failed = str(exc)
    recordings = args.classes * args.recordings
    print(f"{recordings} recordings of 8 s, {args.classes} classes, target {args.target}, "
          f"{args.workers} workers; best of {args.rounds}")
    first_wall, first_cpu = best[ROOT]
    for checkout, (wall, cpu) in best.items():
        print(f"  {str(checkout):<40} wall {wall:7.1f} s  CPU {cpu:7.1f} s"
              f"  ({wall / first_wall:.2f} and {cpu / first_cpu:.2f} of this checkout's)"
              f"  pool {made[checkout][0]} audio files, {made[checkout][1]} .npy")
    if skipped:
        print(f"NightScan comparison skipped: {skipped}; {SETUP}")
        return 0
    if failed:
        print(f"NightScan comparison failed: {failed[-2000:]}")
        return 1
    print(f"NightScan's scripts ({folder}, {args.nightscan_python}):")
    for name, (wall, cpu) in theirs.items():
        print(f"  {name:<40} wall {wall:7.1f} s  CPU {cpu:7.1f} s")
    their_wall, their_cpu = sum(w for w, _ in theirs.values()), sum(c for _, c in theirs.values())
    print(f"  {'total':<40} wall {their_wall:7.1f} s  CPU {their_cpu:7.1f} s"
          f"  pool {their_made[0]} audio files, {their_made[1]} .npy")
    ratio = first_wall / their_wall
    print("ours (pipeline.py: the three steps and the report) / theirs (their three steps):")
    print(f"ratio wall {ratio:.3f} (aim <= {AIM}): {'yes' if ratio <= AIM else 'no'}")
    print(f"ratio CPU {first_cpu / their_cpu:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
