"""Step 3 rerun on a changed index or pool, in every layout: the folder equals a fresh run,
stale outputs gone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from spectrogram_helpers import small_pool, write_index

from nightscan_common.dsp.animals import PRESETS
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.formats.layouts import LAYOUTS
from nightscan_common.steps.spectrograms import run_spectrograms

GENERAL = PRESETS["general"]


def _run(pool: Path, db: Path, out: Path, layout: str = "tree"):
    return run_spectrograms(db, pool, out, GENERAL, run=RunOptions(num_workers=1, progress=False),
                            layout=layout, shard_size=2)


def _files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def _counts(report) -> tuple[int, int]:
    return (sum(c.written for c in report.counts.values()), sum(c.skipped for c in report.counts.values()))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_changed_index_removes_moves_and_adds_outputs(tmp_path, layout):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    _run(pool, db, out, layout)
    write_recording(pool / "owl" / "new_original.wav", call="hoots", seconds=1.0, samplerate=16000, seed=9)
    moved = [(p, c, "train" if s == "val" else s) for p, c, s in rows[1:]]  # one row gone, val -> train
    new_db = write_index(tmp_path / "new.db", moved + [("owl/new_original.wav", "owl", "test")])
    report = _run(pool, new_db, out, layout)
    assert report.removed == 2  # the row gone and the val row's old place
    assert _counts(report) == (2, len(rows) - 2) and report.recomputed == 0
    fresh = tmp_path / "fresh"
    _run(pool, new_db, fresh, layout)
    assert _files(out) == _files(fresh)
    assert not any("val" in name for name in _files(out))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_pool_file_rebuilt_under_its_name_is_recomputed(tmp_path, layout):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    _run(pool, db, out, layout)
    target = pool / "bat" / "sweep_original.wav"
    st = target.stat()
    staged = tmp_path / "staged.wav"  # as step 1 writes: a new file renamed onto the name
    write_recording(staged, call="sweeps", seconds=1.0, samplerate=48000, channels=2, seed=42)
    os.replace(staged, target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with the old mtime
    report = _run(pool, db, out, layout)
    assert report.recomputed == 1 and _counts(report) == (1, len(rows) - 1)
    fresh = tmp_path / "fresh"
    _run(pool, db, fresh, layout)
    assert _files(out) == _files(fresh)
    again = _run(pool, db, out, layout)
    assert _counts(again) == (0, len(rows)) and again.recomputed == 0 and again.removed == 0


def test_outputs_without_a_recorded_source_are_not_trusted(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    _run(pool, db, out)
    (out / ".spectrogram_sources.jsonl").unlink()  # an output whose source is unknown
    report = _run(pool, db, out)
    assert report.recomputed == len(rows) and _counts(report) == (len(rows), 0)
