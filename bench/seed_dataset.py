"""A data set shaped like the user's: 10 classes from 39 to 2,000 recordings, mostly 8 s clips."""

from __future__ import annotations

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nightscan_common.dsp.synthetic import CALLS, write_recording  # noqa: E402

SEED_COUNTS = {"asio_flammeus": 39, "airplane": 40, "strix_aluco": 60, "pipistrellus": 100,
               "rain": 150, "gryllus": 250, "hyla_arborea": 500, "tyto_alba": 700,
               "nyctalus": 1000, "wind": 2000}


def plan_dataset(scale: float = 1.0, clip_seconds: float = 8.0) -> list[tuple[str, dict]]:
    """(relative path, write_recording arguments) per recording; every 25th is 30 to 120 s.

    ``clip_seconds`` shortens every recording in proportion (the smoke test's 1 s: the
    same files and runs, an eighth of the audio).
    """
    stretch = clip_seconds / 8.0
    calls = list(CALLS)
    items = []
    for ci, (cls, count) in enumerate(SEED_COUNTS.items()):
        for i in range(max(3, round(count * scale))):
            long = i % 25 == 7
            items.append((f"{cls}/night{i % 3}/rec_{i:05d}.wav", dict(
                call=calls[ci % len(calls)], seconds=(30.0 + (i % 4) * 30 if long else 8.0) * stretch,
                samplerate=(44100, 48000)[i % 2], channels=1 + (i % 3 == 2), seed=ci * 100000 + i)))
    return items


def _write(args: tuple[Path, str, dict]) -> None:
    root, rel, kw = args
    if not (root / rel).exists():
        write_recording(root / rel, **kw)


def make_dataset(root: Path, scale: float = 1.0, workers: int = 2, clip_seconds: float = 8.0) -> int:
    """Write the data set under ``root`` (files already there are kept); return its size."""
    items = plan_dataset(scale, clip_seconds)
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_write, [(root, rel, kw) for rel, kw in items], chunksize=32))
    return len(items)


def make_uniform_class(folder: Path, count: int, seconds: float = 8.0, *, first_seed: int = 0) -> None:
    """``count`` mono 44.1 kHz clips of one call: a class whose files all cost the same.

    Clip ``i`` is drawn with seed ``first_seed + i``: classes given the same seeds hold the
    same recordings, which step 1 reports as one recording under several labels.
    """
    for i in range(count):
        if not (folder / f"clip_{i:04d}.wav").exists():
            write_recording(folder / f"clip_{i:04d}.wav", call="trills", seconds=seconds, samplerate=44100,
                            seed=first_seed + i)
