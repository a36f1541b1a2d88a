"""Step 1 end to end, in-process: counts, determinism, measured augmentations, bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf
from pool_helpers import SEED_COUNTS, metadata, run_pool, tree_digest, without_timestamps

from nightscan_common.dsp.augmentations import NOISE_SNR_DB
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.errors import OutputConflictError, UsageError


@pytest.fixture
def seed_root(make_audio_root):
    return make_audio_root(SEED_COUNTS, seconds=0.3, samplerate=8000)


def test_every_class_gets_exactly_the_target(seed_root, tmp_path):
    out = tmp_path / "pool"
    report = run_pool(seed_root, out, target_samples=60)
    meta = metadata(out)
    assert report.status == 0
    for cls in SEED_COUNTS:
        on_disk = sorted(p.name for p in (out / cls).iterdir())
        assert len(on_disk) == 60
        assert sorted(f["filename"] for f in meta["classes"][cls]["files"]) == on_disk
        assert meta["classes"][cls]["total_count"] == 60
    owl = meta["classes"]["asio_flammeus"]
    assert owl["augmentations_per_original"] == {"min": 7, "max": 8}
    per_original = {}
    for f in owl["files"]:
        per_original[f["source"]] = per_original.get(f["source"], 0) + (f["type"] == "augmented")
    assert set(per_original.values()) == {7, 8}
    rain = meta["classes"]["rain"]
    assert rain["selected_originals"] == 60 and rain["original_count"] == 150
    assert all(f["type"] == "original" for f in rain["files"])


def test_keep_all_originals_keeps_150(seed_root, tmp_path):
    out = tmp_path / "pool"
    run_pool(seed_root, out, target_samples=60, keep_all_originals=True, specific_classes=("rain",))
    assert len(list((out / "rain").iterdir())) == 150
    assert metadata(out)["classes"]["rain"]["total_count"] == 150


def test_cap_leaves_a_class_short_of_target(seed_root, tmp_path, capsys):
    out = tmp_path / "pool"
    report = run_pool(seed_root, out, target_samples=60, max_augmentations=2,
                      specific_classes=("asio_flammeus",))
    assert len(list((out / "asio_flammeus").iterdir())) == 21
    entry = metadata(out)["classes"]["asio_flammeus"]
    assert entry["total_count"] == 21 and entry["reached_target"] is False
    assert entry["short_by"] == 39
    assert metadata(out)["totals"]["short_classes"] == ["asio_flammeus"]
    assert not report.plans[0].reached_target


def test_one_or_two_workers_give_identical_bytes(seed_root, tmp_path):
    a, b = tmp_path / "pool_a", tmp_path / "pool_b"
    run_pool(seed_root, a, target_samples=40, num_workers=1)
    run_pool(seed_root, b, target_samples=40, num_workers=2)
    skip = ("pool_metadata.json",)
    assert tree_digest(a, skip=skip) == tree_digest(b, skip=skip)
    assert without_timestamps(metadata(a)) == without_timestamps(metadata(b))


def _mono(path):
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    return data.mean(axis=1), sr


def _rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_each_augmentation_does_what_its_params_say(make_audio_root, tmp_path):
    root = make_audio_root({"owl": 3}, seconds=1.0, samplerate=16000)
    out = tmp_path / "pool"
    run_pool(root, out, target_samples=30)
    files = metadata(out)["classes"]["owl"]["files"]
    checked = set()
    for f in (f for f in files if f["type"] == "augmented"):
        orig, _ = _mono(root / "owl" / f["source"])
        aug, sr = _mono(out / "owl" / f["filename"])
        assert f["frames"] == len(aug) and sr == 16000
        params = f["params"]
        if f["augmentation"] == "time_stretch":
            assert 0.8 <= params["rate"] <= 1.25
            assert abs(len(aug) - round(len(orig) / params["rate"])) <= 1
        elif f["augmentation"] == "volume":
            assert -6.0 <= params["gain_db"] <= 0.0
            assert 20 * np.log10(_rms(aug) / _rms(orig)) == pytest.approx(params["gain_db"], abs=0.05)
        elif f["augmentation"] == "noise":
            measured = 20 * np.log10(_rms(orig) / _rms(aug - orig))
            assert NOISE_SNR_DB[0] - 0.5 <= measured <= NOISE_SNR_DB[1] + 0.5
            assert measured == pytest.approx(params["snr_db"], abs=0.5)
        elif f["augmentation"] == "combined":
            assert {"rate", "snr_db", "gain_db"} <= set(params)
            assert abs(len(aug) - round(len(orig) / params["rate"])) <= 1
        assert not np.array_equal(aug[: len(orig)], orig[: len(aug)])
        checked.add(f["augmentation"])
    assert checked == {"time_stretch", "noise", "volume", "combined"}


def test_audio_root_is_never_written(seed_root, tmp_path):
    before = tree_digest(seed_root)
    mtimes = {p: p.stat().st_mtime_ns for p in seed_root.rglob("*")}
    run_pool(seed_root, tmp_path / "pool", target_samples=30)
    assert tree_digest(seed_root) == before
    assert {p: p.stat().st_mtime_ns for p in seed_root.rglob("*")} == mtimes


def test_output_inside_audio_root_is_refused(seed_root):
    with pytest.raises(UsageError, match="inside the audio root"):
        run_pool(seed_root, seed_root / "pool", target_samples=30)
    assert not (seed_root / "pool").exists()


def test_bad_files_are_skipped_named_and_others_done(make_audio_root, tmp_path):
    root = make_audio_root({"owl": 5, "bat": 5}, seconds=0.3, samplerate=8000)
    (root / "owl" / "not_audio.wav").write_text("this is a text file, not a recording")
    (root / "owl" / "empty.wav").write_bytes(b"")
    good = (root / "owl" / "rec_000.wav").read_bytes()
    (root / "owl" / "truncated.wav").write_bytes(good[: len(good) // 2])
    out = tmp_path / "pool"
    report = run_pool(root, out, target_samples=20)
    reasons = {s.path: s.reason for s in report.skipped}
    assert set(reasons) == {"owl/not_audio.wav", "owl/empty.wav", "owl/truncated.wav"}
    assert "not a readable audio file" in reasons["owl/not_audio.wav"]
    assert "empty" in reasons["owl/empty.wav"]
    assert "truncated" in reasons["owl/truncated.wav"]
    assert report.status == 1
    meta = metadata(out)
    assert {s["path"] for s in meta["skipped"]} == set(reasons)
    assert meta["classes"]["owl"]["total_count"] == 20 and meta["classes"]["owl"]["original_count"] == 5
    assert meta["classes"]["bat"]["total_count"] == 20


def test_dry_run_writes_nothing(seed_root, tmp_path):
    out = tmp_path / "pool"
    report = run_pool(seed_root, out, target_samples=60, dry_run=True)
    assert not out.exists()
    assert [p.total for p in report.plans] == [60, 60, 60, 60]


def test_rerun_of_a_finished_pool_changes_nothing(seed_root, tmp_path):
    out = tmp_path / "pool"
    run_pool(seed_root, out, target_samples=30)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    report = run_pool(seed_root, out, target_samples=30)
    assert report.already_complete and report.written == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps


def test_other_options_are_refused_then_overwritten(seed_root, tmp_path):
    out = tmp_path / "pool"
    run_pool(seed_root, out, target_samples=30)
    with pytest.raises(OutputConflictError, match="--overwrite"):
        run_pool(seed_root, out, target_samples=20)
    run_pool(seed_root, out, target_samples=20, overwrite=True)
    assert all(len(list((out / c).iterdir())) == 20 for c in SEED_COUNTS)
    assert metadata(out)["params"]["target_samples"] == 20


def test_resume_redoes_missing_files_only(seed_root, tmp_path):
    out, ref = tmp_path / "pool", tmp_path / "ref"
    run_pool(seed_root, ref, target_samples=30)
    run_pool(seed_root, out, target_samples=30)
    victim = next((out / "asio_flammeus").glob("*_aug003_*.wav"))
    victim.unlink()
    report = run_pool(seed_root, out, target_samples=30)
    assert 0 < report.written < 30
    assert without_timestamps(metadata(out)) == without_timestamps(metadata(ref))
    assert tree_digest(out, skip=("pool_metadata.json",)) == tree_digest(ref, skip=("pool_metadata.json",))


def test_specific_class_keeps_the_other_classes(seed_root, tmp_path):
    out = tmp_path / "pool"
    run_pool(seed_root, out, target_samples=30, specific_classes=("bat",))
    run_pool(seed_root, out, target_samples=30, specific_classes=("cricket",))
    assert set(metadata(out)["classes"]) == {"bat", "cricket"}
    with pytest.raises(UsageError, match="'heron' is not a folder"):
        run_pool(seed_root, out, target_samples=30, specific_classes=("heron",))


@pytest.mark.parametrize("mode", ["hardlink", "symlink"])
def test_link_modes(make_audio_root, tmp_path, mode):
    root = make_audio_root({"owl": 3}, seconds=0.3, samplerate=8000)
    out = tmp_path / "pool"
    run_pool(root, out, target_samples=6, link_mode=mode)
    linked = out / "owl" / "rec_000_original.wav"
    source = root / "owl" / "rec_000.wav"
    if mode == "hardlink":
        assert os.stat(linked).st_ino == os.stat(source).st_ino
    else:
        assert linked.is_symlink() and linked.resolve() == source.resolve()
    assert linked.read_bytes() == source.read_bytes()


def test_originals_keep_their_format_and_names_stay_unique(tmp_path):
    root = tmp_path / "root"
    for rel in ["owl/a.wav", "owl/a.flac", "owl/site1/b.wav", "owl/site2/b.WAV", "owl/c d'é.ogg"]:
        write_recording(root / rel, seconds=0.3, samplerate=8000)
    out = tmp_path / "pool"
    run_pool(root, out, target_samples=10)
    names = sorted(p.name for p in (out / "owl").iterdir())
    assert len(names) == 10
    assert {"a_flac_original.flac", "a_wav_original.wav", "site1__b_original.wav",
            "site2__b_original.WAV", "c d'é_original.ogg"} <= set(names)
    sources = {f["filename"]: f["source"] for f in metadata(out)["classes"]["owl"]["files"]}
    assert sources["site2__b_original.WAV"] == "site2/b.WAV"


def test_unusual_but_valid_recordings_are_all_taken(tmp_path):
    root = tmp_path / "root"
    specs = [("u8.wav", 8000, 1, "PCM_U8"), ("s24.wav", 44100, 2, "PCM_24"),
             ("f32.wav", 48000, 1, "FLOAT"), ("six.wav", 22050, 6, "PCM_16"),
             ("hi.flac", 192000, 1, "PCM_24"), ("low.wav", 8000, 1, "PCM_16")]
    for seed, (name, sr, ch, subtype) in enumerate(specs):
        write_recording(root / "mix" / name, seconds=0.2, samplerate=sr, channels=ch, subtype=subtype,
                        seed=seed)
    sf.write(root / "mix" / "tiny.wav", np.full(5, 0.1, dtype=np.float32), 8000)
    sf.write(root / "mix" / "silent.wav", np.zeros(800, dtype=np.float32), 8000)
    out = tmp_path / "pool"
    report = run_pool(root, out, target_samples=24, keep_quiet_files=True)
    assert report.status == 0, report.skipped + report.failed_tasks + report.gated
    assert report.duplicates == {} and report.plans[0].usable == 8
    files = metadata(out)["classes"]["mix"]["files"]
    assert len(files) == 24
    for f in (f for f in files if f["type"] == "augmented"):
        info = sf.info(out / "mix" / f["filename"])
        assert info.channels == 1 and info.subtype == "PCM_16"
    by_src = {f["source"]: f for f in files if f["type"] == "original"}
    assert by_src["hi.flac"]["samplerate"] == 192000 and by_src["six.wav"]["channels"] == 6


def test_symlink_loop_is_not_followed(make_audio_root, tmp_path):
    root = make_audio_root({"owl": 3}, seconds=0.3, samplerate=8000)
    os.symlink(root / "owl", root / "owl" / "loop")
    report = run_pool(root, tmp_path / "pool", target_samples=6)
    assert report.plans[0].usable == 3


def test_empty_class_and_empty_root(make_audio_root, tmp_path):
    root = make_audio_root({"owl": 3}, seconds=0.3, samplerate=8000)
    (root / "heron").mkdir()
    (root / "heron" / "notes.txt").write_text("no audio here")
    report = run_pool(root, tmp_path / "pool", target_samples=6)
    assert report.empty_classes == ["heron"] and report.status == 1
    assert report.ignored == {"heron": 1}
    empty = tmp_path / "empty_root"
    empty.mkdir()
    with pytest.raises(UsageError, match="no class folders"):
        run_pool(empty, tmp_path / "pool2", target_samples=6)
    with pytest.raises(UsageError, match="not found"):
        run_pool(tmp_path / "missing", tmp_path / "pool3", target_samples=6)


def test_a_second_run_into_the_same_pool_is_refused(make_audio_root, tmp_path):
    from nightscan_common.io.run_lock import exclusive_run

    root = make_audio_root({"owl": 2}, seconds=0.2, samplerate=8000)
    out = tmp_path / "pool"
    out.mkdir()
    with exclusive_run(out), pytest.raises(UsageError, match="another run is writing to"):
        run_pool(root, out, target_samples=4)
    run_pool(root, out, target_samples=4)  # the lock went with its holder
    assert len(list((out / "owl").iterdir())) == 4


def test_identity_holds_every_content_option_and_no_run_option(tmp_path):
    from dataclasses import fields

    from nightscan_common.execution.cluster import RunOptions
    from nightscan_common.steps.pool import PoolOptions, PoolRun

    opts = PoolOptions(background_noise_dir=tmp_path / "noise")
    run = PoolRun(audio_root=tmp_path / "audio", output_dir=tmp_path / "pool", options=opts,
                  run=RunOptions(num_workers=3, progress=False, timeout=5.0), specific_classes=("owl",),
                  overwrite=True)
    content = {f.name for f in fields(PoolOptions)}
    later = {f.name for f in fields(PoolOptions) if f.metadata.get("later")}
    assert set(run.identity()) == {"audio_root"} | (content - later) and "seed" in content
    assert later == {"animal_type", "short_noise_dir", "background_noise_class", "segment", "hop",
                     "min_peak_dbfs", "min_duration", "keep_quiet_files", "keep_duplicates",
                     # --annotations and its options
                     "annotations", "annotation_format", "label_column", "label_map", "unknown_labels",
                     "min_confidence", "clip", "multi_label", "max_per_recording", "background_class",
                     "exhaustive", "tables_are_exhaustive", "time_expansion", "table_time", "point_events"}
    # options added later are recorded once set, so a pool made before them still matches its rerun
    cut = PoolOptions(segment=8.0).identity(tmp_path / "pool")
    assert cut["segment"] == 8.0 and "hop" not in cut
    assert not {"num_workers", "overwrite", "timeout", "specific_classes"} & set(run.identity())
    assert run.identity()["audio_root"] == "../audio"
    assert run.identity()["background_noise_dir"] == "../noise"
    assert run.identity()["augmentations"] == list(opts.augmentations)


def test_a_slow_warm_up_says_so_and_a_quick_one_says_nothing(tmp_path, caplog, monkeypatch, make_audio_root):
    """The first run's numba compilation once showed nothing for 29 s."""
    import logging
    import time as clock

    from nightscan_common.steps import pool as step

    with caplog.at_level(logging.INFO, logger="nightscan"):
        with step.said_if_slow("warming up", after=0.05):
            clock.sleep(0.4)
        with step.said_if_slow("quick", after=5.0):
            pass
    said = [r.getMessage() for r in caplog.records]
    assert said == ["warming up"]
    assert step.WARMING_UP.startswith("warming up (first run only)")
    monkeypatch.setattr(step, "WARM_UP_NOTICE_S", 0.05)
    monkeypatch.setattr(step, "warm_up", lambda *a, **k: clock.sleep(0.4))
    caplog.clear()
    root = make_audio_root({"owl": 2}, seconds=0.3)
    with caplog.at_level(logging.INFO, logger="nightscan"):
        run_pool(root, tmp_path / "out", target_samples=3, num_workers=1)
    assert step.WARMING_UP in [r.getMessage() for r in caplog.records]
