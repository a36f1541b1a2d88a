"""A stand-in for NightScan's training loader (audio_dataset_scalable.py) reading a spectrogram cache.

It issues the loader's own queries and builds the loader's own paths, in the mode the
training command uses (``--no-balance-classes``, a spectrogram cache), with numpy in
place of torch. Where the real loader silently falls back to decoding the audio when a
.npy is missing, this one raises: every row must have its spectrogram.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np


class CachedSpectrogramLoader:
    """One split of an index, read row by row as ``AudioDatasetScalable`` does.

    ``loader[i]`` -> ``(spectrogram of shape (3, n_mels, frames), class index)``.
    """

    def __init__(self, index_db: str | Path, audio_root: str | Path, cache_dir: str | Path,
                 split: str):
        self.audio_root = Path(audio_root)
        self.cache_dir = Path(cache_dir)
        self.split = split
        self.conn = sqlite3.connect(str(index_db))
        self.conn.row_factory = sqlite3.Row
        cur = self.conn.cursor()
        cur.execute("SELECT COUNT(*) FROM audio_samples WHERE split = ?", (split,))
        self.total_samples = cur.fetchone()[0]
        # The loader numbers the classes of each split on its own: a class missing from
        # one split would shift every later class's label there.
        cur.execute("SELECT class_name, COUNT(*) as count FROM audio_samples WHERE split = ? "
                    "GROUP BY class_name ORDER BY class_name", (split,))
        self.class_counts = {row["class_name"]: row["count"] for row in cur.fetchall()}
        self.class_names = list(self.class_counts)
        self.class_to_idx = {name: i for i, name in enumerate(self.class_names)}
        cur.close()

    def __len__(self) -> int:
        return self.total_samples

    def row(self, idx: int) -> sqlite3.Row:
        cur = self.conn.cursor()
        cur.execute("SELECT *, 0 as augmentation_variant FROM audio_samples WHERE split = ? "
                    "LIMIT 1 OFFSET ?", (self.split, idx))
        row = cur.fetchone()
        cur.close()
        if row is None:
            raise IndexError(f"index {idx} out of range")
        return row

    def cache_path(self, row: sqlite3.Row) -> Path:
        """``<cache>/<split>/<class_name>/<stem of audio_root/file_path>.npy``, as the loader builds it."""
        audio_path = self.audio_root / row["file_path"]
        return self.cache_dir / self.split / row["class_name"] / f"{audio_path.stem}.npy"

    def __getitem__(self, idx: int) -> tuple[np.ndarray, int]:
        row = self.row(idx)
        path = self.cache_path(row)
        if not path.exists():
            raise FileNotFoundError(f"no cached spectrogram for {row['file_path']}: {path}")
        spectrogram = np.load(path).astype(np.float32)
        if spectrogram.ndim == 2:
            spectrogram = np.repeat(spectrogram[None], 3, axis=0)
        elif spectrogram.shape[0] == 1:
            spectrogram = np.repeat(spectrogram, 3, axis=0)
        return spectrogram, self.class_to_idx[row["class_name"]]

    def close(self) -> None:
        self.conn.close()
