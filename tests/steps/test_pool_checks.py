"""What goes into step 1: the gate's options, non-finite samples, formats by name, noise folders,
and a class whose tasks failed reported short from the outcomes."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf
from pool_helpers import metadata, run_pool

import create_augmented_pool as front
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.errors import UsageError
from nightscan_common.execution.serial import SerialExecutor
from nightscan_common.reports.tables import pool_table
from nightscan_common.steps import pool_worker


def _class(root, name, count, *, seconds=0.5, seed=0):
    for i in range(count):
        write_recording(root / name / f"rec_{i}.wav", seconds=seconds, samplerate=8000, seed=seed + i)


def test_gate_options_move_the_thresholds_and_keep_quiet_files_keeps_with_a_warning(tmp_path, caplog):
    root = tmp_path / "root"
    _class(root, "owl", 2)
    write_recording(root / "owl" / "short.wav", seconds=0.3, samplerate=8000, seed=9)
    sf.write(root / "owl" / "quiet.wav", np.full(4000, 10 ** (-50 / 20), dtype=np.float32), 8000)
    nan = np.full(4000, 0.1, dtype=np.float32)
    nan[100] = np.nan
    sf.write(root / "owl" / "nan.wav", nan, 8000, subtype="FLOAT")
    report = run_pool(root, tmp_path / "a", target_samples=4, min_peak_dbfs=-40.0, min_duration=0.4)
    reasons = {s.path: s.reason for s in report.gated}
    assert [s.path for s in report.skipped] == ["owl/nan.wav"]  # the check refuses NaN outright
    assert "non-finite samples" in report.skipped[0].reason
    assert reasons == {
        "owl/quiet.wav": "near-silent: peak -50.0 dBFS (RMS -50.0 dBFS) is below --min-peak-dbfs -40",
        "owl/short.wav": "too short: 0.300 s is below --min-duration 0.4 s",
    }
    assert report.status == 1 and report.plans[0].usable == 2
    with caplog.at_level(logging.WARNING, logger="nightscan"):
        kept = run_pool(root, tmp_path / "b", target_samples=4, min_peak_dbfs=-40.0, min_duration=0.4,
                        keep_quiet_files=True)
    assert kept.gated == [] and [s.path for s in kept.skipped] == ["owl/nan.wav"]  # never kept
    assert kept.plans[0].usable == 4 and "owl/quiet.wav: near-silent" in caplog.text
    assert "kept (--keep-quiet-files)" in caplog.text


@pytest.mark.parametrize("option, value, message", [
    ("--min-duration", "-1", "--min-duration must be 0 or more seconds, got -1"),
    ("--min-peak-dbfs", "3", "--min-peak-dbfs must be a level in dBFS, 0 or below, got 3"),
])
def test_bad_gate_options_exit_2(tmp_path, capsys, option, value, message):
    _class(tmp_path / "root", "owl", 1)
    status = front.main(["--audio-root", str(tmp_path / "root"), "--output-dir", str(tmp_path / "out"),
                         option, value, "-q"])
    assert status == 2 and capsys.readouterr().err == f"error: {message}\n"


def test_every_decodable_extension_is_taken_and_ignored_files_are_named(tmp_path, caplog):
    root = tmp_path / "root"
    _class(root, "bird", 1)
    song = np.sin(np.arange(24000) * 0.2).astype(np.float32) * 0.5
    sf.write(root / "bird" / "song.opus", song, 48000, format="OGG", subtype="OPUS")
    sf.write(root / "bird" / "call.caf", song[::3] * np.linspace(0, 1, 8000, dtype=np.float32), 8000,
             format="CAF")
    (root / "bird" / "phone.m4a").write_bytes(b"\x00\x00\x00\x18ftypM4A ")
    (root / "bird" / "notes.txt").write_text("site 3")
    with caplog.at_level(logging.DEBUG, logger="nightscan"):
        report = run_pool(root, tmp_path / "out", target_samples=3, dry_run=True)
    assert report.plans[0].usable == 3 and report.ignored == {"bird": 2}
    lines = {r.getMessage(): r.levelno for r in caplog.records if "bird/" in r.getMessage()}
    assert lines["bird/notes.txt: not an audio file name (.txt), ignored"] == logging.DEBUG  # -v
    converting = "bird/phone.m4a: AAC or ALAC in MP4 (.m4a) is not decoded here; convert it first, " \
                 "e.g. ffmpeg -i 'phone.m4a' 'phone.flac'"
    assert lines[converting] == logging.WARNING  # said without -v


def test_a_noise_folder_without_a_usable_file_exits_2_before_writing(tmp_path, capsys):
    _class(tmp_path / "root", "owl", 1)
    noise = tmp_path / "noise"
    noise.mkdir()
    sf.write(noise / "silent.wav", np.zeros(8000, dtype=np.float32), 8000)
    (noise / "empty.wav").write_bytes(b"")
    out = tmp_path / "out"
    status = front.main(["--audio-root", str(tmp_path / "root"), "--output-dir", str(out),
                         "--augmentations", "background_noise", "--background-noise-dir", str(noise), "-q"])
    err = capsys.readouterr().err
    assert status == 2 and not out.exists()
    assert err.startswith(f"error: --background-noise-dir {noise} has no usable noise file (")
    assert "empty.wav: empty file (0 bytes)" in err and "silent.wav: digital silence" in err


def test_a_noise_file_that_is_a_class_recording_re_encoded_is_named_and_not_mixed_in(tmp_path, capsys):
    """The speech class's only clip, as FLAC in the noise folder: left out with its name."""
    root, noise, out = tmp_path / "root", tmp_path / "noise", tmp_path / "out"
    _class(root, "owl", 2, seconds=2.0)
    write_recording(root / "speech" / "lena.wav", call="trills", seconds=3.0, samplerate=16000, seed=77)
    noise.mkdir()
    clip, rate = sf.read(root / "speech" / "lena.wav", dtype="float32")
    sf.write(noise / "lena.flac", clip, rate, subtype="PCM_24")  # other bytes, the same recording
    write_recording(noise / "wind.wav", call="noise_bursts", seconds=3.0, samplerate=16000, seed=5)
    status = front.main(["--audio-root", str(root), "--output-dir", str(out), "--augmentations",
                         "background_noise", "--background-noise-dir", str(noise), "--target-samples", "4",
                         "--num-workers", "1", "-q"])
    err = capsys.readouterr().err
    assert status == 1
    assert ("warning: noise file lena.flac: the same recording as speech/lena.wav (an original of the "
            "audio root): mixed into other samples it would be in the data set twice; left out") in err
    meta = metadata(out)
    mixed = {e["params"].get("noise_file") for c in meta["classes"].values() for e in c["files"]
             if e.get("augmentation") == "background_noise"}
    assert mixed and all("lena" not in str(m) for m in mixed), mixed
    assert any("wind.wav" in str(m) for m in mixed)


def test_a_noise_folder_holding_only_copies_of_originals_exits_2(tmp_path, capsys):
    root, noise = tmp_path / "root", tmp_path / "noise"
    _class(root, "owl", 2, seconds=2.0)
    noise.mkdir()
    clip, rate = sf.read(root / "owl" / "rec_0.wav", dtype="float32")
    sf.write(noise / "copy.flac", clip, rate)
    status = front.main(["--audio-root", str(root), "--output-dir", str(tmp_path / "out"), "--augmentations",
                         "background_noise", "--background-noise-dir", str(noise), "-q"])
    err = capsys.readouterr().err
    assert status == 2 and "copy.flac: the same recording as owl/rec_0.wav" in err
    assert not (tmp_path / "out" / "pool_metadata.json").exists()


def test_a_class_whose_tasks_failed_is_short_in_the_table_and_the_metadata(tmp_path, monkeypatch):
    root = tmp_path / "root"
    _class(root, "owl", 3)
    real = pool_worker.apply_augmentation

    def failing(name, samples, sr, **kw):
        if kw["seed"] % 2:
            raise RuntimeError("boom")
        return real(name, samples, sr, **kw)

    monkeypatch.setattr(pool_worker, "apply_augmentation", failing)
    report = run_pool(root, tmp_path / "out", target_samples=9, augmentations=("volume",),
                      executor=SerialExecutor())
    assert report.failed_tasks and report.status == 1
    entry = metadata(tmp_path / "out")["classes"]["owl"]
    written = entry["total_count"]
    assert written < 9 and entry["short_by"] == 9 - written and not entry["reached_target"]
    assert report.to_dict()["classes"][0]["total"] == written
    assert f"short by {9 - written}" in pool_table(report, dry_run=False)


def test_noise_check_happens_before_discovery(tmp_path):
    """A noise folder that is not one is refused by the up-front checks, not mid-run."""
    _class(tmp_path / "root", "owl", 1)
    with pytest.raises(UsageError, match="needs .*--background-noise-dir DIR.*nowhere not found"):
        run_pool(tmp_path / "root", tmp_path / "out", augmentations=("background_noise",),
                 background_noise_dir=tmp_path / "nowhere")


def test_a_probed_original_is_a_frozen_record_that_the_gate_and_the_duplicate_finder_leave_alone(tmp_path):
    import dataclasses
    import shutil

    from nightscan_common.steps.pool_checks import ProbedOriginal, find_duplicates, gate, probe_original
    from nightscan_common.steps.pool_options import PoolOptions

    _class(tmp_path, "owl", 2)
    shutil.copy(tmp_path / "owl" / "rec_0.wav", tmp_path / "owl" / "copy.wav")
    sf.write(tmp_path / "owl" / "quiet.wav", np.full(4000, 1e-4, dtype=np.float32), 8000)
    probes = {("owl", p.name): probe_original(str(p)) for p in sorted((tmp_path / "owl").iterdir())}
    first = probes[("owl", "rec_0.wav")]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.frames = 0
    assert first.frames == 4000 and first.samplerate == 8000 and first.windows is None
    cached = first.cache_entry()
    assert "windows" not in cached["probe"] and cached["identity"] == list(first.identity)
    assert ProbedOriginal.from_cache(cached["identity"], cached["probe"]) == first
    assert ProbedOriginal.from_cache(cached["identity"], {"sha256": first.sha256}) is None  # before the audit
    before = dict(probes)
    kept, gated = gate(PoolOptions(), probes)
    assert [s.path for s in gated] == ["owl/quiet.wav"] and ("owl", "quiet.wav") not in kept
    left, duplicates, cross = find_duplicates(PoolOptions(), kept)
    assert duplicates == {"owl/rec_0.wav": "owl/copy.wav"} and cross == []
    assert sorted(left) == [("owl", "copy.wav"), ("owl", "rec_1.wav")]
    assert probes == before and len(kept) == 3  # the inputs as they were
