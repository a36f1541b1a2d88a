"""The index database: written whole, read back read-only, under any folder name."""

from __future__ import annotations

import pytest

from nightscan_common.formats.index_db import (
    count_leaking_groups,
    read_index_info,
    read_index_rows,
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

