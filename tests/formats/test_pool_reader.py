"""pool_reader: listed and scanned pools, the on-disk check, duplicates across classes."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from pool_factory import write_pool

from nightscan_common.errors import UsageError
from nightscan_common.formats.pool_reader import PoolFile, cross_class_duplicates, read_pool


def test_a_pool_with_file_lists_is_read_from_them(tmp_path):
    pool = read_pool(write_pool(tmp_path / "pool", {"owl": [3, 1], "bat": [2]}))
    assert pool.listed
    assert list(pool.classes) == ["bat", "owl"]
    owl = pool.classes["owl"]
    assert [f.name for f in owl] == ["rec_000_aug001_time_stretch.wav", "rec_000_aug002_noise.wav",
                                     "rec_000_original.wav", "rec_001_original.wav"]
    assert owl[0] == PoolFile(name="rec_000_aug001_time_stretch.wav", is_augmented=True,
                              source="rec_000.wav", augmentation="time_stretch")
    assert owl[2].sha256 == hashlib.sha256(b"owl/rec_000.wav").hexdigest()
    assert len(pool.metadata_sha256) == 64


@pytest.mark.parametrize("layout", ["no file lists", "no metadata", "class_metadata only"])
def test_a_legacy_pool_is_read_by_scanning_its_names(tmp_path, layout):
    root = write_pool(tmp_path / "pool", {"owl": [3, 1], "bat": [2]}, file_lists=False,
                      metadata=layout == "no file lists")
    if layout == "class_metadata only":
        (root / "class_metadata").mkdir()
        (root / "class_metadata" / "owl.json").write_text("{}")
    (root / "owl" / "notes.txt").write_text("not a pool file")
    pool = read_pool(root)
    assert not pool.listed
    assert list(pool.classes) == ["bat", "owl"]
    assert [(f.name, f.is_augmented, f.source) for f in pool.classes["bat"]] == [
        ("rec_000_aug001_time_stretch.wav", True, "rec_000"), ("rec_000_original.wav", False, "rec_000")]
    assert pool.classes["bat"][1].sha256 == hashlib.sha256(b"bat/rec_000.wav").hexdigest()
    assert any("notes.txt" in w for w in pool.warnings)
    assert (pool.metadata_sha256 == "") == (layout != "no file lists")


def test_hidden_files_and_temporaries_are_not_pool_files(tmp_path):
    root = write_pool(tmp_path / "pool", {"owl": [2]})
    (root / "owl" / ".DS_Store").write_bytes(b"x")
    (root / "owl" / ".rec_000_aug001_noise.wav.abc.nightscan-tmp").write_bytes(b"x")
    (root / ".pool_progress.jsonl").write_text("{}")  # left by a run killed as it ended: older
    os.utime(root / ".pool_progress.jsonl", ns=(1, 1))
    assert [f.name for f in read_pool(root).classes["owl"]] == [
        "rec_000_aug001_time_stretch.wav", "rec_000_original.wav"]


def test_missing_sha256_is_computed(tmp_path):
    pool = read_pool(write_pool(tmp_path / "pool", {"owl": [2]}, record_sha=False))
    assert pool.classes["owl"][1].sha256 == hashlib.sha256(b"owl/rec_000.wav").hexdigest()


def test_a_listed_file_missing_from_disk_is_named(tmp_path):
    root = write_pool(tmp_path / "pool", {"owl": [3]})
    (root / "owl" / "rec_000_aug002_noise.wav").unlink()
    with pytest.raises(UsageError, match=r"1 file\(s\) listed .* missing .*owl/rec_000_aug002_noise\.wav"):
        read_pool(root)


def test_files_the_metadata_does_not_list_are_counted_and_some_named(tmp_path):
    root = write_pool(tmp_path / "pool", {"owl": [1]})
    for i in range(5):
        (root / "owl" / f"stray_{i}_original.wav").write_bytes(b"x")
    with pytest.raises(UsageError, match=r"5 file\(s\) .* not listed .*stray_0_original.wav, "
                                         r"owl/stray_1_original.wav, owl/stray_2_original.wav and 2 more"):
        read_pool(root)


def test_a_class_folder_the_metadata_does_not_describe_is_refused(tmp_path):
    root = write_pool(tmp_path / "pool", {"owl": [1]})
    (root / "bat").mkdir()
    with pytest.raises(UsageError, match="does not describe the class folders bat"):
        read_pool(root)


def test_a_bad_file_entry_is_named_with_its_class_and_position(tmp_path):
    root = write_pool(tmp_path / "pool", {"owl": [2]})
    meta = json.loads((root / "pool_metadata.json").read_text())
    meta["classes"]["owl"]["files"][1]["type"] = "mystery"
    (root / "pool_metadata.json").write_text(json.dumps(meta))
    with pytest.raises(UsageError, match="class 'owl', file entry 1: 'type' must be .* got 'mystery'"):
        read_pool(root)


def test_a_missing_or_empty_pool_is_refused(tmp_path):
    with pytest.raises(UsageError, match="pool folder not found"):
        read_pool(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="no class folders"):
        read_pool(tmp_path / "empty")
    (tmp_path / "empty" / "owl").mkdir()
    with pytest.raises(UsageError, match="no pool files"):
        read_pool(tmp_path / "empty")


def test_the_same_recording_in_two_classes_is_found(tmp_path):
    root = write_pool(tmp_path / "pool", {"owl": [1, 1], "bat": [1]},
                      contents={("owl", "rec_001.wav"): b"same", ("bat", "rec_000.wav"): b"same"})
    assert cross_class_duplicates(read_pool(root)) == [
        ["bat/rec_000_original.wav", "owl/rec_001_original.wav"]]


def test_a_window_s_span_and_a_pool_of_clips_named_from_the_audio_root_are_read(tmp_path):
    root = write_pool(tmp_path / "pool", {"owl": [2, 1]})
    meta = json.loads((root / "pool_metadata.json").read_text())
    meta["params"]["annotations"] = "events.csv"
    first = meta["classes"]["owl"]["files"][0]
    assert first["type"] == "original"
    first |= {"offset": 24000, "offset_seconds": 1.5, "frames": 48000, "samplerate": 16000}
    (root / "pool_metadata.json").write_text(json.dumps(meta))
    pool = read_pool(root)
    assert pool.root_relative
    spans = {f.name: (f.offset_seconds, f.seconds) for f in pool.classes["owl"]}
    assert spans == {"rec_000_original.wav": (1.5, 3.0), "rec_000_aug001_time_stretch.wav": (None, None),
                     "rec_001_original.wav": (None, None)}
    assert not read_pool(write_pool(tmp_path / "plain", {"owl": [1]})).root_relative
