"""The split invariant read back from a written index: groups, recordings, sites, spans."""

from __future__ import annotations

import sqlite3

from nightscan_common.formats.index_db import SCHEMA, TABLE, write_index
from nightscan_common.formats.split_check import check_index_splits


def index(path, files: list[tuple[str, str, str]], originals: list[tuple] = ()):
    """``files``: (file_path, split, group_key), each its own original."""
    rows = [(fp, fp.split("/")[0], 0, fp, None, split, key) for fp, split, key in files]
    write_index(path, rows, {"format_version": "1"}, originals=originals)
    return path


def test_spans_that_touch_pass_and_spans_that_overlap_are_named(tmp_path):
    files = [("owl/a.wav", "train", "g1"), ("owl/b.wav", "test", "g2"), ("moth/c.wav", "val", "g3")]
    spans = [("owl/a.wav", "n.wav", None, 0.0, 3.0, None, None),
             ("owl/b.wav", "n.wav", None, 3.0, 6.0, None, None),
             ("moth/c.wav", "m.wav", None, 0.0, 3.0, None, None)]
    check = check_index_splits(index(tmp_path / "ok.db", files, spans))
    assert check.spans == [] and check.checked == {"groups": 3, "recordings": 2, "sites": 0, "spans": 3}
    assert check.recordings == ["n.wav"]  # one recording, two splits: the recording check says so
    spans[1] = ("owl/b.wav", "n.wav", None, 1.5, 4.5, None, None)
    check = check_index_splits(index(tmp_path / "bad.db", files, spans))
    assert check.spans == ["n.wav: 0-3 s in train overlaps 1.5-4.5 s in test"] and not check.passed
    said = " ".join(check.problems())
    assert "1 overlap(s) of spans of one recording in two splits: n.wav: 0-3 s in train" in said


def test_a_site_in_two_splits_is_named_and_a_site_in_one_passes(tmp_path):
    files = [("owl/a.wav", "train", "owl/a.wav"), ("moth/b.wav", "test", "moth/b.wav")]
    originals = [("owl/a.wav", "owl/a.wav", "site1", None, None, "x", None),
                 ("moth/b.wav", "moth/b.wav", "site1", None, None, "y", None)]
    check = check_index_splits(index(tmp_path / "i.db", files, originals))
    assert (check.groups, check.recordings, check.sites) == ([], [], ["site1"])
    assert check.line().endswith("(2 groups, 2 recordings, 1 sites, 0 spans, each in one split): FAILED")


def test_an_index_without_the_originals_table_is_checked_by_group_only(tmp_path):
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.executescript(SCHEMA.split("CREATE TABLE index_info")[0])
    con.executemany(f"INSERT INTO {TABLE} (file_path, class_name, is_augmented, original_file, split, "
                    "group_key) VALUES (?, ?, 0, ?, ?, ?)", [("owl/a.wav", "owl", "owl/a.wav", "train", "g"),
                                                  ("owl/b.wav", "owl", "owl/b.wav", "val", "g")])
    con.commit()
    con.close()
    check = check_index_splits(db)
    assert check.groups == ["g"] and check.checked == {"groups": 1}
