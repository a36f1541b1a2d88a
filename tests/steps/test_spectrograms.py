"""Step 3's logic: output paths, values, resumption, refusals, failures, old indexes."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from spectrogram_helpers import librosa_reference, make_pool, npy_path, small_pool, write_index

from nightscan_common import __version__
from nightscan_common.dsp.animals import PRESETS
from nightscan_common.errors import OutputConflictError, UsageError
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.io.atomic_write import TEMP_SUFFIX
from nightscan_common.steps.spectrograms import (
    CONFIG_FILENAME,
    FAILURES_FILENAME,
    run_spectrograms,
)

GENERAL = PRESETS["general"]


def _run(pool, db, out, config=GENERAL, *, num_workers=1, **kwargs):
    return run_spectrograms(db, pool, out, config, run=RunOptions(num_workers=num_workers, progress=False),
                            **kwargs)


def _tree(out):
    """Every file below ``out``: relative path -> (bytes, mtime_ns)."""
    found = {}
    for dirpath, _dirs, files in os.walk(out):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                found[os.path.relpath(path, out)] = (fh.read(), os.stat(path).st_mtime_ns)
    return found


def test_every_row_gets_its_npy_at_the_loaders_path(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    report = _run(pool, db, out)
    assert not report.failures
    for row in rows:
        spec = np.load(npy_path(out, row))
        assert spec.shape == (128, 345) and spec.dtype == np.float32
    assert {s: c.written for s, c in report.counts.items()} == {"train": 4, "val": 1, "test": 2}
    assert report.bytes_on_disk >= 7 * 128 * 345 * 4
    settings = json.loads((out / CONFIG_FILENAME).read_text())
    assert settings["spectrogram"] == GENERAL.to_dict() and settings["tool_version"] == __version__
    assert settings["shape"] == [128, 345] and settings["fixed"]["amin"] == 1e-10
    assert not (out / FAILURES_FILENAME).exists()


def test_values_equal_a_plain_librosa_computation(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    _run(pool, db, out)
    for row in rows:
        if row[0].endswith(".ogg"):
            continue  # lossy: libsndfile and librosa decode it alike, but check the lossless ones
        np.testing.assert_allclose(np.load(npy_path(out, row)), librosa_reference(pool / row[0]),
                                   atol=1e-3, rtol=0)


def test_a_long_file_is_cut_to_its_first_8_s_like_librosa(tmp_path):
    rows = make_pool(tmp_path / "pool", [("owl/long_original.wav", "train",
                                          dict(call="hoots", seconds=10.0, samplerate=44100, channels=2,
                                               subtype="PCM_24"))])
    db = write_index(tmp_path / "index.db", rows)
    _run(tmp_path / "pool", db, tmp_path / "out")
    np.testing.assert_allclose(np.load(npy_path(tmp_path / "out", rows[0])),
                               librosa_reference(tmp_path / "pool" / rows[0][0]), atol=1e-3, rtol=0)


def test_three_channels_and_float16(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    _run(pool, db, tmp_path / "c3", GENERAL.replace(channels=3, dtype="float16"), num_workers=2)
    plain = tmp_path / "plain"
    _run(pool, db, plain)
    for row in rows:
        spec = np.load(npy_path(tmp_path / "c3", row))
        assert spec.shape == (3, 128, 345) and spec.dtype == np.float16
        np.testing.assert_array_equal(spec[2], np.load(npy_path(plain, row)).astype(np.float16))


def test_one_or_two_workers_give_byte_identical_files(tmp_path):
    pool, db, _rows = small_pool(tmp_path)
    _run(pool, db, tmp_path / "w1", num_workers=1)
    _run(pool, db, tmp_path / "w2", num_workers=2)
    one, two = _tree(tmp_path / "w1"), _tree(tmp_path / "w2")
    assert one.keys() == two.keys() and all(one[k][0] == two[k][0] for k in one)


def test_a_finished_run_rerun_writes_nothing(tmp_path):
    pool, db, _rows = small_pool(tmp_path)
    out = tmp_path / "out"
    _run(pool, db, out)
    before = _tree(out)
    report = _run(pool, db, out, preset="general", num_workers=2)
    assert _tree(out) == before  # same bytes, same mtimes
    assert {s: (c.written, c.skipped) for s, c in report.counts.items()} == {
        "train": (0, 4), "val": (0, 1), "test": (0, 2)}


def test_a_rerun_finishes_an_interrupted_run_and_sweeps_its_temporaries(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    full, out = tmp_path / "full", tmp_path / "out"
    _run(pool, db, full)
    _run(pool, db, out)
    for row in rows[::2]:  # as if killed: some files missing, a partial one under a temporary name
        npy_path(out, row).unlink()
    leftover = npy_path(out, rows[0]).parent / f".x.npy.abc{TEMP_SUFFIX}"
    leftover.write_bytes(b"partial")
    report = _run(pool, db, out)
    assert sum(c.written for c in report.counts.values()) == len(rows[::2])
    assert not leftover.exists()
    assert {k: v[0] for k, v in _tree(out).items()} == {k: v[0] for k, v in _tree(full).items()}


def test_a_rerun_with_other_settings_is_refused_unless_overwrite(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    _run(pool, db, out)
    before = _tree(out)
    with pytest.raises(OutputConflictError, match=r"n_mels 128 -> 64.*--overwrite"):
        _run(pool, db, out, GENERAL.replace(n_mels=64))
    assert _tree(out) == before
    (out / "README.txt").write_text("the user's notes")
    (npy_path(out, rows[0]).parent / "notes.txt").write_text("kept")
    _run(pool, db, out, GENERAL.replace(n_mels=64), overwrite=True)
    assert np.load(npy_path(out, rows[0])).shape == (64, 345)
    assert json.loads((out / CONFIG_FILENAME).read_text())["spectrogram"]["n_mels"] == 64
    assert (out / "README.txt").exists() and (npy_path(out, rows[0]).parent / "notes.txt").exists()


def test_spectrograms_of_unknown_settings_are_refused(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    npy_path(out, rows[0]).parent.mkdir(parents=True)
    np.save(npy_path(out, rows[0]), np.zeros((128, 100), np.float32))
    with pytest.raises(OutputConflictError, match="no spectrogram_config.json.*--overwrite"):
        _run(pool, db, out)
    (out / CONFIG_FILENAME).write_text("{not json")
    with pytest.raises(OutputConflictError, match="other options"):
        _run(pool, db, out)


def test_corrupt_and_missing_files_are_listed_and_the_rest_written(tmp_path):
    pool, _db, rows = small_pool(tmp_path)
    (pool / "owl" / "broken_original.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)
    (pool / "bat" / "empty_original.wav").write_bytes(b"")
    extra = [("owl/broken_original.wav", "owl", "train"), ("bat/gone_original.wav", "bat", "val"),
             ("bat/empty_original.wav", "bat", "train")]
    db = write_index(tmp_path / "index2.db", rows + extra)
    out = tmp_path / "out"
    report = _run(pool, db, out, num_workers=2)
    listed = json.loads((out / FAILURES_FILENAME).read_text())
    assert [f["path"] for f in listed] == sorted(r[0] for r in extra)
    reasons = {f["path"]: f["reason"] for f in listed}
    assert "not a readable audio file" in reasons["owl/broken_original.wav"]
    assert "No such file" in reasons["bat/gone_original.wav"]
    assert "empty file" in reasons["bat/empty_original.wav"]
    assert all(npy_path(out, row).exists() for row in rows)
    assert not any(npy_path(out, row).exists() for row in extra)
    assert {s: c.failed for s, c in report.counts.items()} == {"train": 2, "val": 1, "test": 0}
    before = _tree(out)
    assert len(_run(pool, db, out).failures) == 3  # retried, failed again...
    assert _tree(out) == before  # ...and nothing rewritten, failures.json included
    (pool / "bat" / "empty_original.wav").unlink()  # fixed by hand: a rerun lists what remains
    write_index(tmp_path / "index3.db", rows)
    _run(pool, tmp_path / "index3.db", out)
    assert not (out / FAILURES_FILENAME).exists()


def test_an_index_from_nightscans_earlier_script_works(tmp_path):
    pool, db, rows = small_pool(tmp_path, legacy=True)
    report = _run(pool, db, tmp_path / "out")
    assert not report.failures and all(npy_path(tmp_path / "out", row).exists() for row in rows)


def test_only_the_chosen_splits_are_made(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    report = _run(pool, db, tmp_path / "out", splits=("val", "test"))
    assert set(report.counts) == {"val", "test"}
    assert {npy_path(tmp_path / "out", r).exists() for r in rows if r[2] == "train"} == {False}


def test_two_rows_with_one_output_are_refused_before_anything_is_written(tmp_path):
    pool, _db, rows = small_pool(tmp_path)
    (pool / "owl" / "hoot_a_original.flac").write_bytes((pool / "owl" / "hoot b_original.flac").read_bytes())
    db = write_index(tmp_path / "dup.db", rows + [("owl/hoot_a_original.flac", "owl", "train")])
    out = tmp_path / "out"
    with pytest.raises(UsageError, match=r"train/owl/hoot_a_original <- owl/hoot_a_original\.flac, "
                                         r"owl/hoot_a_original\.wav"):
        _run(pool, db, out)
    assert not out.exists()


def test_rows_that_escape_the_pool_or_output_are_refused(tmp_path):
    pool, _db, rows = small_pool(tmp_path)
    outside = tmp_path / "secret.wav"
    outside.write_bytes((pool / rows[0][0]).read_bytes())
    bad = [("../secret.wav", "owl", "train"), (str(outside), "owl", "train"),
           ("owl/../../secret.wav", "owl", "val"), ("bat/any.wav", "../../escaped", "test"),
           ("owl/x\x00.wav", "owl", "train")]
    db = write_index(tmp_path / "bad.db", rows + bad)
    out = tmp_path / "out"
    report = _run(pool, db, out)
    reasons = {f.path: f.reason for f in report.failures}
    assert set(reasons) == {b[0] for b in bad}
    assert "absolute" in reasons[str(outside)] and "escape the output" in reasons["bat/any.wav"]
    assert "NUL" in reasons["owl/x\x00.wav"] and "escape the pool" in reasons["../secret.wav"]
    assert all(npy_path(out, row).exists() for row in rows)
    assert not list(tmp_path.glob("**/secret.npy")) and not (tmp_path / "escaped").exists()


def test_bad_folders_and_empty_selections_are_usage_errors(tmp_path):
    pool, db, _rows = small_pool(tmp_path)
    with pytest.raises(UsageError, match="nowhere not found"):
        _run(tmp_path / "nowhere", db, tmp_path / "out")
    (tmp_path / "a_file").write_text("")
    with pytest.raises(UsageError, match="a_file is not a folder"):
        _run(tmp_path / "a_file", db, tmp_path / "out")
    with pytest.raises(UsageError, match="inside --pool-root"):
        _run(pool, db, pool / "spectrograms")
    (tmp_path / "other_pool").mkdir()
    with pytest.raises(UsageError, match="none of the 7 indexed files"):
        _run(tmp_path / "other_pool", db, tmp_path / "out")
    empty = write_index(tmp_path / "empty.db", [])
    with pytest.raises(UsageError, match="holds no rows"):
        _run(pool, empty, tmp_path / "out")
    with pytest.raises(UsageError, match="fmax 20000 Hz is above the Nyquist"):
        _run(pool, db, tmp_path / "out", GENERAL.replace(fmax=20000.0))
    assert not (tmp_path / "out").exists()


def test_spectrograms_the_index_no_longer_names_are_removed(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    _run(pool, db, out)
    smaller = write_index(tmp_path / "smaller.db", rows[1:])
    report = _run(pool, smaller, out)
    assert report.removed == 1 and sum(c.skipped for c in report.counts.values()) == len(rows) - 1
    assert len(list(out.rglob("*.npy"))) == len(rows) - 1
