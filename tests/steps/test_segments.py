"""--segment: long recordings cut into windows, each an original, one group per recording."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import numpy as np
import pytest
import soundfile as sf

import create_augmented_pool
import create_balanced_index
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.execution.serial import SerialExecutor
from nightscan_common.plans.segments import window_offsets
from nightscan_common.steps.pool import run_pool
from nightscan_common.steps.pool_options import PoolOptions

SR = 16000


def _long(path, seconds, *, seed, silent=None):
    x = (0.2 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)
    if silent:
        x[int(silent[0] * SR): int(silent[1] * SR)] = 0.0
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x, SR, subtype="PCM_16")
    return sf.read(path, dtype="int16")[0]


def _pool(tmp_path, *args):
    pool = tmp_path / "pool"
    code = create_augmented_pool.main(["--audio-root", str(tmp_path / "audio"), "--output-dir", str(pool),
                                       "--num-workers", "1", "-q", *args])
    return code, pool, json.loads((pool / "pool_metadata.json").read_text(encoding="utf-8"))


def test_windows_cover_the_recording_and_end_on_its_last_frame():
    assert [w.offset / SR for w in window_offsets(60 * SR, SR, segment=8)] == [0, 8, 16, 24, 32, 40, 48, 52]
    assert [w.offset / SR for w in window_offsets(20 * SR, SR, segment=8, hop=4)] == [0, 4, 8, 12]
    assert window_offsets(8 * SR, SR, segment=8) == []  # fits in one segment: one original as before


def test_segment_8_on_a_60_s_recording_gives_windows_of_one_group_with_exact_offsets(tmp_path):
    full = _long(tmp_path / "audio" / "owl" / "night1" / "long.wav", 60, seed=1)
    gappy = _long(tmp_path / "audio" / "owl" / "gap.wav", 60, seed=2, silent=(16, 24))  # window 2 silent
    code, pool, meta = _pool(tmp_path, "--segment", "8", "--target-samples", "15")
    assert code == 0
    originals = [f for f in meta["classes"]["owl"]["files"] if f["type"] == "original"]
    by_source = {s: [f for f in originals if f["source"] == s] for s in ("night1/long.wav", "gap.wav")}
    assert len(by_source["night1/long.wav"]) == 8 and len(by_source["gap.wav"]) == 7
    assert 16 * SR not in {f["offset"] for f in by_source["gap.wav"]}  # digital silence dropped
    for source, samples in (("night1/long.wav", full), ("gap.wav", gappy)):
        for f in by_source[source]:
            window, rate = sf.read(pool / "owl" / f["filename"], dtype="int16")
            assert rate == SR and f["frames"] == len(window) == 8 * SR
            assert f["offset_seconds"] == f["offset"] / SR
            np.testing.assert_array_equal(window, samples[f["offset"]: f["offset"] + 8 * SR])
    assert meta["params"]["segment"] == 8.0
    db = tmp_path / "index.db"
    assert create_balanced_index.main(["--pool-dir", str(pool), "--output-db", str(db), "-q"]) == 0
    with sqlite3.connect(db) as con:
        groups = con.execute("SELECT group_key, COUNT(DISTINCT split), COUNT(*) FROM audio_samples "
                             "GROUP BY group_key ORDER BY group_key").fetchall()
    assert groups == [("owl/gap.wav", 1, 7), ("owl/night1/long.wav", 1, 8)]


def test_a_class_of_3_long_recordings_reaches_the_target_from_real_audio(tmp_path):
    for i in range(3):
        _long(tmp_path / "audio" / "frog" / f"rec{i}.wav", 40, seed=10 + i)
    code, _, meta = _pool(tmp_path, "--segment", "4", "--target-samples", "24")
    entry = meta["classes"]["frog"]
    assert code == 0 and entry["total_count"] == 24 and entry["reached_target"]
    assert all(f["type"] == "original" for f in entry["files"])  # 30 windows, 24 kept: no augmentation
    assert {f["source"] for f in entry["files"]} == {"rec0.wav", "rec1.wav", "rec2.wav"}


def test_a_rerun_with_windows_changes_nothing_and_augmentations_record_the_offset(tmp_path):
    _long(tmp_path / "audio" / "owl" / "long.wav", 20, seed=3)
    args = ("--segment", "8", "--target-samples", "6", "--augmentations", "volume")
    code, pool, meta = _pool(tmp_path, *args)
    augmented = [f for f in meta["classes"]["owl"]["files"] if f["type"] == "augmented"]
    assert code == 0 and len(augmented) == 3 and all("offset" in f for f in augmented)
    before = {p.name: p.read_bytes() for p in (pool / "owl").iterdir()}
    code, _, again = _pool(tmp_path, *args)
    assert code == 0 and again == meta
    assert {p.name: p.read_bytes() for p in (pool / "owl").iterdir()} == before


@pytest.mark.parametrize("args, message", [
    (["--hop", "4"], "--hop 4 needs --segment SECONDS"),
    (["--segment", "0"], "must be above 0"),
    (["--augmentations", "air_absorption"], "air_absorption damps octave bands up to 32 kHz"),
    (["--augmentations", "short_noises"], "short_noises needs --short-noise-dir DIR"),
])
def test_bad_new_options_exit_2_with_one_line(tmp_path, capsys, args, message):
    _long(tmp_path / "audio" / "owl" / "a.wav", 1, seed=0)
    with pytest.raises(SystemExit) if args[0] == "--segment" else contextlib.nullcontext() as info:
        code = create_augmented_pool.main(["--audio-root", str(tmp_path / "audio"), "--output-dir",
                                           str(tmp_path / "pool"), "-q", *args])
    assert (info.value.code if args[0] == "--segment" else code) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "pool").exists()


def test_a_long_recording_is_hashed_by_the_check_once_not_again_per_window(tmp_path, monkeypatch):
    from nightscan_common.steps import pool_worker

    source = tmp_path / "audio" / "owl" / "night.wav"
    _long(source, 64, seed=5)
    hashed = []
    real = pool_worker.file_sha256
    monkeypatch.setattr(pool_worker, "file_sha256", lambda p: hashed.append(str(p)) or real(p))
    report = _serial_pool(tmp_path, PoolOptions(target_samples=16, segment=8))
    assert report.status == 0 and report.metadata["classes"]["owl"]["total_count"] == 16
    assert str(source) not in hashed  # 8 windows: the check hashed it once, no window again


def _serial_pool(tmp_path, options):
    return run_pool(tmp_path / "audio", tmp_path / "pool", options, executor=SerialExecutor(),
                    run=RunOptions(progress=False))


def test_a_recording_rewritten_after_the_check_fails_its_windows(tmp_path, monkeypatch):
    from nightscan_common.steps import pool_worker

    source = tmp_path / "audio" / "owl" / "night.wav"
    _long(source, 32, seed=5)
    real = pool_worker.read_mono

    def rewritten_first(path, **kw):
        if not getattr(rewritten_first, "done", False):
            rewritten_first.done = True
            _long(source, 32, seed=6)  # a new take over it, after the check
        return real(path, **kw)

    monkeypatch.setattr(pool_worker, "read_mono", rewritten_first)
    report = _serial_pool(tmp_path, PoolOptions(target_samples=8, segment=8))
    assert report.failed_tasks and all("changed while the run read it" in f.reason
                                       for f in report.failed_tasks)
def test_an_unseekable_gsm_aiff_is_cut_into_windows_read_in_order_not_called_corrupt(tmp_path):
    """GSM 6.10 in AIFF cannot seek: its windows are decoded in order, each the decoded file's frames."""
    rate = 8000
    x = (0.3 * np.sin(2 * np.pi * 440 * np.arange(30 * rate) / rate)).astype(np.float32)
    path = tmp_path / "audio" / "owl" / "night.aiff"
    path.parent.mkdir(parents=True)
    sf.write(path, x, rate, format="AIFF", subtype="GSM610")
    with sf.SoundFile(path) as f:
        assert not f.seekable()
        decoded = f.read(frames=f.frames, dtype="float32")
    code, pool, meta = _pool(tmp_path, "--segment", "8", "--hop", "6", "--target-samples", "5")
    assert code == 0 and meta["skipped"] == []
    originals = [e for e in meta["classes"]["owl"]["files"] if e["type"] == "original"]
    assert [e["offset"] for e in originals] == [w.offset for w in window_offsets(len(decoded), rate,
                                                                                 segment=8, hop=6)]
    for e in originals:
        window, sr = sf.read(pool / "owl" / e["filename"], dtype="float32")
        assert sr == rate and len(window) == 8 * rate
        np.testing.assert_array_equal(window, decoded[e["offset"]: e["offset"] + 8 * rate])


def test_a_dwvw_aiff_that_libsndfile_opens_but_cannot_decode_gets_that_reason(tmp_path):
    path = tmp_path / "audio" / "owl" / "old.aiff"
    path.parent.mkdir(parents=True)
    sf.write(path, np.zeros(8000, dtype=np.float32), 8000, format="AIFF", subtype="DWVW_16")
    _long(tmp_path / "audio" / "owl" / "ok.wav", 2, seed=1)
    code, _, meta = _pool(tmp_path, "--target-samples", "2")
    assert code == 1
    (skipped,) = meta["skipped"]
    assert skipped["path"] == "owl/old.aiff"
    assert "libsndfile opens it (AIFF, DWVW_16) but cannot decode its samples" in skipped["reason"]
    assert "corrupt" not in skipped["reason"]
