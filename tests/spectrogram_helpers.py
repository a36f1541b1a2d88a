"""Small pools, indexes and a plain-librosa reference for the spectrogram tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import librosa
import numpy as np

from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.formats.index_db import SCHEMA

#: NightScan's earlier index: the same table without group_key, and no index_info.
LEGACY_SCHEMA = """
CREATE TABLE audio_samples (
    id INTEGER PRIMARY KEY, file_path TEXT NOT NULL UNIQUE, class_name TEXT NOT NULL,
    is_augmented INTEGER NOT NULL, original_file TEXT NOT NULL, augmentation_type TEXT,
    split TEXT NOT NULL)
"""

#: (file_path, split, write_recording arguments): formats and rates a pool holds.
SMALL_POOL = [
    ("owl/hoot_a_original.wav", "train", dict(call="hoots", seconds=1.5, samplerate=44100,
                                              channels=2, subtype="PCM_24")),
    ("owl/hoot_a_aug001_time_stretch.wav", "train", dict(call="hoots", seconds=1.2, samplerate=8000)),
    ("owl/hoot b_original.flac", "val", dict(call="hoots", seconds=1.0, samplerate=16000)),
    ("bat/sweep_original.wav", "train", dict(call="sweeps", seconds=1.0, samplerate=48000, channels=2)),
    ("bat/sweep_aug001_noise.wav", "test", dict(call="sweeps", seconds=2.0, samplerate=22050)),
    ("rain/drops_original.ogg", "train", dict(call="noise_bursts", seconds=1.0, samplerate=22050)),
    ("rain/pluie d'été \"forte\"_original.wav", "test", dict(call="noise_bursts", seconds=1.0,
                                                             samplerate=32000, subtype="PCM_U8")),
]


def write_index(db_path: Path, rows: list[tuple[str, str, str]], *, legacy: bool = False) -> Path:
    """An index over ``(file_path, class_name, split)`` rows, in today's or the earlier schema."""
    con = sqlite3.connect(db_path)
    con.executescript(LEGACY_SCHEMA if legacy else SCHEMA)
    for file_path, class_name, split in rows:
        values = [file_path, class_name, int("_aug" in file_path), file_path, None, split]
        if legacy:
            con.execute("INSERT INTO audio_samples (file_path, class_name, is_augmented, original_file, "
                        "augmentation_type, split) VALUES (?, ?, ?, ?, ?, ?)", values)
        else:
            con.execute("INSERT INTO audio_samples (file_path, class_name, is_augmented, original_file, "
                        "augmentation_type, split, group_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        values + [file_path])
    con.commit()
    con.close()
    return db_path


def make_pool(root: Path, specs=SMALL_POOL) -> list[tuple[str, str, str]]:
    """Write the recordings of ``specs`` under ``root``; return their index rows."""
    rows = []
    for i, (file_path, split, kwargs) in enumerate(specs):
        write_recording(root / file_path, seed=i, **kwargs)
        rows.append((file_path, file_path.split("/")[0], split))
    return rows


def small_pool(tmp_path: Path, *, legacy: bool = False) -> tuple[Path, Path, list[tuple[str, str, str]]]:
    """``(pool, index_db, rows)`` for a pool of seven clips in four formats and six rates."""
    pool = tmp_path / "pool"
    rows = make_pool(pool)
    return pool, write_index(tmp_path / "index.db", rows, legacy=legacy), rows


def npy_path(out: Path, row: tuple[str, str, str]) -> Path:
    """Where NightScan's loader looks for a row's spectrogram."""
    file_path, class_name, split = row
    return out / split / class_name / (Path(file_path).stem + ".npy")


def librosa_reference(path: Path, *, sr: int = 22050, seconds: float = 8.0) -> np.ndarray:
    """The general preset computed the plain way, with librosa alone."""
    y, _ = librosa.load(path, sr=sr, mono=True)
    n = int(seconds * sr)
    y = librosa.util.fix_length(y[:n], size=n)
    mel = librosa.feature.melspectrogram(y=y, sr=sr, n_fft=2048, hop_length=512, n_mels=128,
                                         fmin=50, fmax=11000)
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80)
    return (db - db.mean()) / (db.std() + 1e-6)
