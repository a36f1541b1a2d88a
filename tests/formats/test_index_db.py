"""The index database: written whole, read back read-only, under any folder name."""

from __future__ import annotations

import sqlite3

import pytest

from nightscan_common.formats.index_db import (
    SampleDetails,
    count_leaking_groups,
    read_index_info,
    read_index_rows,
    read_sample_details,
    split_counts,
    write_index,
)

ROWS = [("owl/a_original.wav", "owl", 0, "owl/a_original.wav", None, "train", "owl/a"),
        ("owl/b_original.wav", "owl", 0, "owl/b_original.wav", None, "val", "owl/b")]


@pytest.mark.parametrize("folder", ["run?1", "a#b", "100%", "50%20x"])
def test_an_index_under_a_folder_with_uri_characters_is_read_and_nothing_stray_appears(tmp_path, folder):
    db = tmp_path / folder / "index.db"
    db.parent.mkdir()
    assert write_index(db, ROWS, {"seed": "1"}) == 2
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert [(r.file_path, r.split) for r in read_index_rows(db)] == [
        ("owl/a_original.wav", "train"), ("owl/b_original.wav", "val")]
    assert read_index_info(db) == {"seed": "1"}
    assert count_leaking_groups(db) == 0
    assert split_counts(db) == {("owl", "train", 0): 1, ("owl", "val", 0): 1}
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_the_read_only_connection_creates_no_file(tmp_path):
    assert read_index_info(tmp_path / "missing.db") is None
    assert list(tmp_path.iterdir()) == []



def test_details_of_an_index_with_only_the_three_columns_come_from_the_pool_names(tmp_path):
    db = tmp_path / "three.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE audio_samples (file_path TEXT, class_name TEXT, split TEXT)")
    con.executemany("INSERT INTO audio_samples VALUES (?, ?, ?)", [
        ("owl/a_original.wav", "owl", "train"), ("owl/a_aug002_noise.wav", "owl", "train"),
        ("owl/notes.wav", "owl", "val"), ("owl/../x.wav", "owl", "val")])
    con.commit()
    con.close()
    assert read_sample_details(db) == {
        "owl/a_original.wav": SampleDetails("owl", "owl/a", False),
        "owl/a_aug002_noise.wav": SampleDetails("owl", "owl/a", True),
        "owl/notes.wav": SampleDetails("owl", "owl/notes.wav", False)}
