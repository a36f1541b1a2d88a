"""Class and file discovery: depth, case, hidden files, link loops."""

import os

from nightscan_common.io.audio_files import is_inside, list_classes, scan_audio_files


def test_scan_finds_audio_at_any_depth_in_any_case(tmp_path):
    owl = tmp_path / "owl"
    for rel in ["a.wav", "night1/b.FLAC", "night1/deep/c.Mp3", "d.aiff", "notes.txt", ".hidden.wav",
                ".cache/e.wav", "night1/.f.wav.x.nightscan-tmp"]:
        (owl / rel).parent.mkdir(parents=True, exist_ok=True)
        (owl / rel).write_bytes(b"x")
    scan = scan_audio_files(owl)
    assert scan.audio == ["a.wav", "d.aiff", "night1/b.FLAC", "night1/deep/c.Mp3"]
    assert scan.ignored == ["notes.txt"]


def test_link_loops_are_reported_not_followed(tmp_path):
    (tmp_path / "owl" / "sub").mkdir(parents=True)
    (tmp_path / "owl" / "sub" / "a.wav").write_bytes(b"x")
    os.symlink(tmp_path / "owl", tmp_path / "owl" / "sub" / "loop")
    os.symlink(tmp_path / "nowhere", tmp_path / "owl" / "dangling.wav")
    scan = scan_audio_files(tmp_path / "owl")
    assert scan.audio == ["sub/a.wav"]
    assert set(scan.loops) == {"sub/loop", "dangling.wav"}


def test_classes_are_visible_sub_folders_sorted(tmp_path):
    for name in ["rain", "asio_flammeus", ".git", "bat"]:
        (tmp_path / name).mkdir()
    (tmp_path / "readme.txt").write_text("x")
    assert list_classes(tmp_path) == ["asio_flammeus", "bat", "rain"]


def test_is_inside(tmp_path):
    assert is_inside(tmp_path / "a" / "b", tmp_path / "a") and is_inside(tmp_path, tmp_path)
    assert not is_inside(tmp_path / "ab", tmp_path / "a")
