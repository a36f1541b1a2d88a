"""create_balanced_index.py --keep-splits-from: old groups keep their split across pool versions."""

from __future__ import annotations

import sqlite3

from pool_factory import write_pool

import create_balanced_index as front
from nightscan_common.formats.index_db import read_index_info, read_split_rows
from nightscan_common.steps.index import IndexOptions, run_index


def _splits(db) -> dict[str, str]:
    return {fp: split for fp, split, _ in read_split_rows(db)}


def _sources(n: int) -> list[str]:
    return [f"rec_{i:03d}.wav" for i in range(n)]


def test_twenty_percent_more_groups_move_nothing(tmp_path):
    old_db = tmp_path / "old.db"
    run_index(write_pool(tmp_path / "p1", {"owl": [5] * 40}), old_db)
    pool = write_pool(tmp_path / "p2", {"owl": [5] * 48})
    report = run_index(pool, tmp_path / "new.db", keep_splits_from=old_db)
    old, new = _splits(old_db), _splits(tmp_path / "new.db")
    assert all(new[fp] == split for fp, split in old.items())
    assert report.kept.groups == {"added": 8, "removed": 0, "kept": 40, "moved": 0}
    assert report.kept.files == {"added": 40, "removed": 0, "kept": 200, "moved": 0}
    (owl,) = report.classes
    assert all(abs(c - t) < 5 for c, t in zip(owl.rows, owl.plan.targets, strict=True))
    info = read_index_info(tmp_path / "new.db")
    assert info["kept_splits_from"] == "old.db" and len(info["kept_splits_from_sha256"]) == 64


def test_removed_groups_vanish_and_the_rest_stay(tmp_path):
    old_db = tmp_path / "old.db"
    run_index(write_pool(tmp_path / "p1", {"owl": [3] * 30}), old_db)
    pool = write_pool(tmp_path / "p2", {"owl": [3] * 24}, sources={"owl": _sources(30)[6:]})
    report = run_index(pool, tmp_path / "new.db", keep_splits_from=old_db)
    old, new = _splits(old_db), _splits(tmp_path / "new.db")
    assert all(old[fp] == split for fp, split in new.items())
    assert report.kept.groups["removed"] == 6 and report.kept.files["removed"] == 18


def test_a_merge_forced_by_a_new_duplicate_is_reported_and_keeps_train_out_of_val_and_test(
        tmp_path, capsys):
    old_db = tmp_path / "old.db"
    run_index(write_pool(tmp_path / "p1", {"owl": [3] * 30}), old_db)
    old = _splits(old_db)
    train = next(fp for fp, s in old.items() if s == "train" and "_original" in fp)
    test = next(fp for fp, s in old.items() if s == "test" and "_original" in fp)
    src = {p.split("/")[1].replace("_original", "") for p in (train, test)}
    same = b"one recording under two names"
    pool = write_pool(tmp_path / "p2", {"owl": [3] * 30}, contents={("owl", s): same for s in src})
    new_db = tmp_path / "new.db"
    status = front.main(["--pool-dir", str(pool), "--output-db", str(new_db),
                         "--keep-splits-from", str(old_db)])
    out = capsys.readouterr().out
    assert status == 0
    assert "groups 0 added, 0 removed, 28 kept, 1 moved; files 0 added, 0 removed, 87 kept, 3 moved" in out
    assert "moved (forced by a merge): owl/rec_" in out and "-> train, 3 file(s) moved" in out
    new = _splits(new_db)
    assert new[train] == new[test] == "train"
    assert not [fp for fp, s in new.items() if s != "train" and old[fp] == "train"]
    with sqlite3.connect(new_db) as con:
        assert con.execute("SELECT COUNT(*) FROM (SELECT group_key FROM audio_samples GROUP BY group_key "
                           "HAVING COUNT(DISTINCT split) > 1)").fetchone()[0] == 0


def test_a_missing_old_index_is_one_line(tmp_path, capsys):
    pool = write_pool(tmp_path / "p", {"owl": [1] * 5})
    status = front.main(["--pool-dir", str(pool), "--output-db", str(tmp_path / "i.db"),
                         "--keep-splits-from", str(tmp_path / "nope.db")])
    assert status == 2 and "error: index database not found" in capsys.readouterr().err
    assert not (tmp_path / "i.db").exists()


def test_a_site_added_to_every_class_moves_no_group(tmp_path):
    from test_index import site_pool

    old_db, new_db = tmp_path / "old.db", tmp_path / "new.db"
    options = IndexOptions(ratios=(0.4, 0.3, 0.3), group_pattern=r"^(site\d+)_")
    run_index(site_pool(tmp_path / "p1"), old_db, options)
    report = run_index(site_pool(tmp_path / "p2", sites=4), new_db, options, keep_splits_from=old_db)
    assert report.kept.groups == {"added": 1, "removed": 0, "kept": 43, "moved": 0}
    assert report.kept.files["moved"] == 0
    old, new = _splits(old_db), _splits(new_db)
    assert all(new[fp] == split for fp, split in old.items() if fp in new)
    assert len({new[fp] for fp in new if "/site3_" in fp}) == 1 and report.check.passed


def test_an_originals_table_with_values_that_are_not_text_is_read_as_unknown_content(tmp_path):
    old_db = tmp_path / "old.db"
    run_index(write_pool(tmp_path / "p1", {"owl": [2] * 10}), old_db)
    with sqlite3.connect(old_db) as con:
        con.execute("UPDATE originals SET sha256 = 7, fingerprint = x'00' WHERE file_path = ?",
                    ("owl/rec_001_original.wav",))
        con.execute("INSERT INTO originals (file_path, recording) VALUES (12, 'x')")
    names = _sources(10)
    names[1:3] = ["renamed_1.wav", "renamed_2.wav"]  # the same bytes under new names
    contents = {("owl", f"renamed_{i}.wav"): f"owl/rec_{i:03d}.wav".encode() for i in (1, 2)}
    pool = write_pool(tmp_path / "p2", {"owl": [2] * 10}, sources={"owl": names}, contents=contents)
    report = run_index(pool, tmp_path / "new.db", keep_splits_from=old_db)
    assert report.kept.renamed == [f"owl/rec_002_original.wav -> owl/renamed_2_original.wav "
                                   f"({_splits(old_db)['owl/rec_002_original.wav']})"]
    assert report.kept.groups == {"added": 1, "removed": 1, "kept": 9, "moved": 0}


def _layout(report, name: str) -> tuple[int, ...]:
    """A class's samples per split (train, val, test)."""
    return next(c.rows for c in report.classes if c.name == name)


def _moth_warning(report) -> str:
    (said,) = [w for w in report.warnings if "'moth'" in w]
    return said


TWO_GROUPS = ("class 'moth' has 2 group(s), too few to fill every split: train and val get one each, "
              "no test samples")


def test_a_class_added_later_gets_the_split_a_fresh_index_gives_it(tmp_path):
    old_db = tmp_path / "old.db"
    run_index(write_pool(tmp_path / "p1", {"owl": [5] * 20}), old_db)
    pool = write_pool(tmp_path / "p2", {"owl": [5] * 20, "moth": [20, 20]})
    fresh = run_index(pool, tmp_path / "fresh.db")
    kept = run_index(pool, tmp_path / "kept.db", keep_splits_from=old_db)
    assert _layout(fresh, "moth") == _layout(kept, "moth") == (20, 20, 0)
    moth = {fp: s for fp, s in _splits(tmp_path / "kept.db").items() if fp.startswith("moth/")}
    assert moth == {fp: s for fp, s in _splits(tmp_path / "fresh.db").items() if fp.startswith("moth/")}
    assert _moth_warning(fresh) == _moth_warning(kept) == TWO_GROUPS


def test_a_recording_added_to_a_one_group_class_fills_val_as_a_fresh_index_does(tmp_path):
    old_db = tmp_path / "old.db"
    run_index(write_pool(tmp_path / "p1", {"owl": [5] * 20, "moth": [20]}), old_db)
    pool = write_pool(tmp_path / "p2", {"owl": [5] * 20, "moth": [20, 20]})
    kept = run_index(pool, tmp_path / "kept.db", keep_splits_from=old_db)
    assert _layout(kept, "moth") == _layout(run_index(pool, tmp_path / "fresh.db"), "moth") == (20, 20, 0)
    assert _splits(tmp_path / "kept.db")["moth/rec_000_original.wav"] == "train"  # where it was
    assert _moth_warning(kept) == TWO_GROUPS


def test_groups_the_older_index_holds_in_one_split_are_named_as_the_reason(tmp_path):
    old_db = tmp_path / "old.db"  # every group in train
    run_index(write_pool(tmp_path / "p1", {"moth": [20, 20]}), old_db, IndexOptions(ratios=(1, 0, 0)))
    pool = write_pool(tmp_path / "p2", {"moth": [20, 20]})
    kept = run_index(pool, tmp_path / "kept.db", keep_splits_from=old_db)
    assert _layout(kept, "moth") == (40, 0, 0)
    assert _moth_warning(kept) == (
        "class 'moth' has 2 group(s), 2 of them keep their split from the older index (2 in train), "
        "which --keep-splits-from never moves; an index built without it fills val: no val or test samples")
