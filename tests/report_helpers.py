"""A tiny pipeline for the report tests, built once per session with the real step scripts.

Three classes of short synthetic recordings, target 8, at most 2 augmentations each:
``owl`` (2 recordings) ends short by 2; ``rain`` has a broken file (skipped) and a copy
of one recording (a duplicate); ``bat`` is plain.
"""

from __future__ import annotations

import contextlib
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import create_augmented_pool
import create_balanced_index
import pregenerate_spectrograms_simple
from nightscan_common.dsp.synthetic import write_recording

COUNTS = {"bat": 4, "owl": 2, "rain": 5}
TARGET = 8


@dataclass(frozen=True)
class Pipeline:
    root: Path

    @property
    def pool(self) -> Path:
        return self.root / "pool"

    @property
    def index(self) -> Path:
        return self.root / "index.db"

    @property
    def spectrograms(self) -> Path:
        return self.root / "spectrograms"

    def report_args(self, output: Path, *extra: object) -> list[str]:
        return ["--pool-dir", str(self.pool), "--index-db", str(self.index),
                "--spectrogram-dir", str(self.spectrograms), "--output-dir", str(output), *map(str, extra)]


def _run(main, *args: object) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return main([*map(str, args), "-q"])


def build_pipeline(root: Path) -> Pipeline:
    """The three steps on a fresh synthetic audio root under ``root``."""
    audio = root / "audio"
    calls = {"bat": "sweeps", "owl": "hoots", "rain": "noise_bursts"}
    for ci, (cls, n) in enumerate(sorted(COUNTS.items())):
        (audio / cls).mkdir(parents=True)
        for i in range(n):
            write_recording(audio / cls / f"rec_{i:03d}.wav", call=calls[cls], seconds=0.4 + 0.1 * i,
                            samplerate=16000, seed=ci * 100 + i)
    (audio / "rain" / "broken.wav").write_bytes(b"RIFF this is not a wave file")
    shutil.copy(audio / "rain" / "rec_000.wav", audio / "rain" / "rec_000_copy.wav")
    p = Pipeline(root)
    assert _run(create_augmented_pool.main, "--audio-root", audio, "--output-dir", p.pool,
                "--target-samples", TARGET, "--max-augmentations", 2, "--num-workers", 1) == 1
    assert _run(create_balanced_index.main, "--pool-dir", p.pool, "--output-db", p.index) == 0
    assert _run(pregenerate_spectrograms_simple.main, "--index-db", p.index, "--pool-root", p.pool,
                "--output-dir", p.spectrograms, "--num-workers", 1) == 0
    return p


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """Built once per session, whichever report test module asks first; never written to after."""
    return build_pipeline(tmp_path_factory.mktemp("report_pipeline"))


def build_cross_class_pipeline(root: Path) -> Pipeline:
    """A root with what a new user hits: one recording filed under two classes (``tit/rec_000.wav``
    copied as ``finch/from_tit.wav``), an .m4a file step 1 ignores with a hint, and an ``owl``
    class at 8 kHz, whose rate cannot carry the general preset's band (``warnings.json``)."""
    audio = root / "audio"
    for cls, call, n, rate in (("tit", "sweeps", 3, 16000), ("finch", "trills", 2, 16000),
                               ("owl", "hoots", 3, 8000)):
        (audio / cls).mkdir(parents=True)
        for i in range(n):
            write_recording(audio / cls / f"rec_{i:03d}.wav", call=call, seconds=0.5 + 0.1 * i,
                            samplerate=rate, seed=len(cls) * 10 + i)
    shutil.copy(audio / "tit" / "rec_000.wav", audio / "finch" / "from_tit.wav")
    (audio / "tit" / "phone.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A not decoded here")
    p = Pipeline(root)
    assert _run(create_augmented_pool.main, "--audio-root", audio, "--output-dir", p.pool,
                "--target-samples", 4, "--max-augmentations", 1, "--num-workers", 1) == 1
    assert _run(create_balanced_index.main, "--pool-dir", p.pool, "--output-db", p.index) == 1
    assert _run(pregenerate_spectrograms_simple.main, "--index-db", p.index, "--pool-root", p.pool,
                "--output-dir", p.spectrograms, "--num-workers", 1) == 0
    return p
