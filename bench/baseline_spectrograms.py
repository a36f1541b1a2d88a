"""Step 3's baselines as standalone scripts, so that they pay start-up as the script does.

    python bench/baseline_spectrograms.py plain|bare INDEX_DB POOL OUT_DIR WORKERS

``plain``: a per-file librosa loop in a multiprocessing pool (no thread pinning);
``bare``: the least work per spectrogram, BLAS pinned (``bench_spectrograms._bare``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_spectrograms import _bare, _plain_librosa, run_baseline  # noqa: E402

from nightscan_common.formats.index_db import read_index_rows  # noqa: E402


def main() -> None:
    mode, db, pool, out, workers = sys.argv[1], *map(Path, sys.argv[2:5]), int(sys.argv[5])
    func = {"plain": _plain_librosa, "bare": _bare}[mode]
    rel = [row.file_path for row in read_index_rows(db)]
    run_baseline(func, pool, rel, out, workers, pinned=mode == "bare")


if __name__ == "__main__":
    main()
