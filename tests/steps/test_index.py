"""steps.index: the split written to SQLite, its checks, rewrites and refusals."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from pool_factory import write_pool

from nightscan_common.errors import NightScanError, OutputConflictError, UsageError
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.formats.index_db import (
    SCHEMA,
    SPLITS,
    count_leaking_groups,
    read_index_info,
    read_index_rows,
    write_index,
)
from nightscan_common.steps.index import IndexOptions, run_index


def query(db: Path, sql: str, *params) -> list[tuple]:
    con = sqlite3.connect(db)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def per_class(db: Path) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for cls, split, n in query(db, "SELECT class_name, split, COUNT(*) FROM audio_samples "
                                   "GROUP BY class_name, split"):
        out.setdefault(cls, {})[split] = n
    return out


def groups_in_splits(db: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key, split in query(db, "SELECT group_key, split FROM audio_samples"):
        out.setdefault(key, set()).add(split)
    return out


def test_four_classes_of_single_files_split_exactly_400_50_50(tmp_path):
    pool = write_pool(tmp_path / "pool", {c: [1] * 500 for c in ("airplane", "bat", "owl", "rain")})
    report = run_index(pool, tmp_path / "index.db")
    assert per_class(tmp_path / "index.db") == {c: {"train": 400, "val": 50, "test": 50}
                                               for c in ("airplane", "bat", "owl", "rain")}
    assert [c.rows for c in report.classes] == [(400, 50, 50)] * 4
    assert report.leaking_groups == 0 and report.written and report.warnings == []


def test_groups_of_12_or_13_stay_whole_and_within_one_group_of_the_targets(tmp_path):
    pool = write_pool(tmp_path / "pool", {"asio_flammeus": [12, 13] * 20})
    db = tmp_path / "index.db"
    report = run_index(pool, db)
    counts = per_class(db)["asio_flammeus"]
    assert all(abs(counts[s] - t) < 13 for s, t in (("train", 400), ("val", 50), ("test", 50)))
    assert all(len(splits) == 1 for splits in groups_in_splits(db).values())
    assert len(groups_in_splits(db)) == 40
    assert count_leaking_groups(db) == report.leaking_groups == 0
    assert all(n > 0 for n in report.classes[0].rows)


def test_three_groups_fill_three_splits_and_two_groups_are_reported(tmp_path):
    pool = write_pool(tmp_path / "pool", {"frog": [4, 5, 6], "moth": [7, 7]})
    report = run_index(pool, tmp_path / "index.db")
    frog = {s for k, splits in groups_in_splits(tmp_path / "index.db").items() if k.startswith("frog/")
            for s in splits}
    assert frog == {"train", "val", "test"}
    moth = [w for w in report.warnings if "'moth'" in w]
    assert len(moth) == 1 and moth[0].startswith(
        "class 'moth' has 2 group(s), too few to fill every split: train and val get one each, "
        "no test samples")
    assert not any("'frog'" in w for w in report.warnings)


def rows_and_info(db: Path) -> tuple[list[tuple], dict[str, str]]:
    info = read_index_info(db)
    info.pop("created_at")
    return query(db, "SELECT * FROM audio_samples ORDER BY id"), info


def bytes_but_created_at(db: Path) -> bytes:
    return db.read_bytes().replace(read_index_info(db)["created_at"].encode(), b"")


def test_the_same_seed_gives_the_same_content_and_another_seed_another_split(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [12, 13] * 20, "bat": [1] * 60})
    run_index(pool, tmp_path / "a.db", IndexOptions(seed=5))
    run_index(pool, tmp_path / "b.db", IndexOptions(seed=5))
    run_index(pool, tmp_path / "c.db", IndexOptions(seed=6))
    assert rows_and_info(tmp_path / "a.db") == rows_and_info(tmp_path / "b.db")
    assert bytes_but_created_at(tmp_path / "a.db") == bytes_but_created_at(tmp_path / "b.db")
    splits = {name: query(tmp_path / name, "SELECT file_path, split FROM audio_samples ORDER BY file_path")
              for name in ("a.db", "c.db")}
    assert splits["a.db"] != splits["c.db"]
    paths = query(tmp_path / "a.db", "SELECT file_path FROM audio_samples ORDER BY id")
    assert paths == sorted(paths, key=lambda p: (p[0].split("/")[0], p[0]))


def test_eval_originals_only_leaves_no_augmentation_in_val_or_test(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [12, 13] * 20})
    db = tmp_path / "index.db"
    report = run_index(pool, db, IndexOptions(eval_originals_only=True))
    augmented_in_eval = "SELECT COUNT(*) FROM audio_samples WHERE is_augmented = 1 AND split != 'train'"
    assert query(db, augmented_in_eval) == [(0,)]
    owl = report.classes[0]
    assert owl.augmented[1:] == (0, 0) and owl.originals[1:] >= (1, 1)
    assert owl.dropped == 500 - sum(owl.rows) > 0
    full = run_index(pool, tmp_path / "full.db")  # the same groups in val and test either way
    assert full.classes[0].originals == owl.originals


def test_the_database_answers_the_training_loader_queries(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [3, 2, 1, 4], "bat": [1] * 10})
    db = tmp_path / "index.db"
    run_index(pool, db)
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    train = con.execute("SELECT * FROM audio_samples WHERE split = ?", ("train",)).fetchall()
    assert train and {"file_path", "class_name", "split"} <= set(train[0].keys())
    for row in train:
        assert row["file_path"] == f"{row['class_name']}/{Path(row['file_path']).name}"
        assert (pool / row["file_path"]).is_file()
    total = sum(con.execute("SELECT COUNT(*) FROM audio_samples WHERE split = ?", (s,)).fetchone()[0]
                for s in ("train", "val", "test"))
    assert total == 20
    assert [tuple(r) for r in con.execute(
        "SELECT class_name, COUNT(*) FROM audio_samples GROUP BY class_name ORDER BY class_name")] == [
        ("bat", 10), ("owl", 10)]
    con.close()
    assert len(read_index_rows(db)) == 20


def test_rows_name_their_original_and_group(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [3, 1]}, sources={"owl": ["site1/a.wav", "b.flac"]})
    db = tmp_path / "index.db"
    run_index(pool, db)
    rows = query(db, "SELECT file_path, is_augmented, original_file, augmentation_type, group_key "
                     "FROM audio_samples ORDER BY id")
    assert rows == [
        ("owl/a_aug001_time_stretch.wav", 1, "owl/a_original.wav", "time_stretch", "owl/site1/a.wav"),
        ("owl/a_aug002_noise.wav", 1, "owl/a_original.wav", "noise", "owl/site1/a.wav"),
        ("owl/a_original.wav", 0, "owl/a_original.wav", None, "owl/site1/a.wav"),
        ("owl/b_original.flac", 0, "owl/b_original.flac", None, "owl/b.flac"),
    ]


def test_identical_originals_are_one_group_and_cross_class_copies_are_reported(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [2, 3, 1, 1, 1], "bat": [1, 1, 1]},
                      contents={("owl", "rec_000.wav"): b"same", ("owl", "rec_003.wav"): b"same",
                                ("bat", "rec_002.wav"): b"other", ("owl", "rec_004.wav"): b"other"},
                      record_sha=False)
    db = tmp_path / "index.db"
    report = run_index(pool, db)
    keys = dict(query(db, "SELECT file_path, group_key FROM audio_samples"))
    assert keys["owl/rec_003_original.wav"] == keys["owl/rec_000_original.wav"] == "owl/rec_000.wav"
    assert any("1 original(s) have the same content" in w for w in report.warnings)
    assert any("bat/rec_002_original.wav = owl/rec_004_original.wav" in w for w in report.warnings)


def test_index_info_records_the_run(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [1] * 5})
    run_index(pool, tmp_path / "index.db", IndexOptions(ratios=(0.6, 0.2, 0.2), seed=9,
                                                        group_pattern="rec", eval_originals_only=True))
    info = read_index_info(tmp_path / "index.db")
    assert {k: info[k] for k in ("format_version", "seed", "ratios", "group_pattern",
                                 "eval_originals_only")} == {
        "format_version": "1", "seed": "9", "ratios": '{"train": 0.6, "val": 0.2, "test": 0.2}',
        "group_pattern": "rec", "eval_originals_only": "1"}
    assert info["pool_dir"] == "pool"  # relative to the database's folder
    assert len(info["pool_metadata_sha256"]) == 64 and info["created_at"] and info["tool_version"]


def test_index_info_holds_every_option_field_without_a_list_by_hand(tmp_path):
    """A field added to IndexOptions is recorded (and so must match on a rerun) by itself."""
    from dataclasses import fields

    names = {f.name for f in fields(IndexOptions) if not f.metadata.get("run")}
    assert set(IndexOptions().identity()) == names and "strict" not in names  # --strict decides no row
    assert IndexOptions().identity()["group_pattern"] == "" and IndexOptions().identity()["seed"] == "42"
    pool = write_pool(tmp_path / "pool", {"owl": [1] * 5})
    run_index(pool, tmp_path / "index.db", run=RunOptions(progress=False))
    assert names <= set(read_index_info(tmp_path / "index.db"))


def test_a_rerun_with_the_same_options_leaves_the_index_alone(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [1] * 10})
    db = tmp_path / "index.db"
    run_index(pool, db)
    before = db.read_bytes()
    report = run_index(pool, db)
    assert not report.written and db.read_bytes() == before
    assert report.classes[0].rows == (8, 1, 1)


def test_an_existing_output_from_other_options_or_another_pool_is_refused(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [1] * 10})
    db = tmp_path / "index.db"
    run_index(pool, db)
    with pytest.raises(OutputConflictError, match=r'seed "42" -> "7".*--overwrite'):
        run_index(pool, db, IndexOptions(seed=7))
    (pool / "owl" / "rec_009_aug001_noise.wav").write_bytes(b"new")
    meta = json.loads((pool / "pool_metadata.json").read_text())
    meta["classes"]["owl"]["files"].append({"filename": "rec_009_aug001_noise.wav", "type": "augmented",
                                            "source": "rec_009.wav"})
    (pool / "pool_metadata.json").write_text(json.dumps(meta))
    with pytest.raises(OutputConflictError, match="pool_metadata_sha256 differs"):
        run_index(pool, db)
    assert run_index(pool, db, IndexOptions(seed=7), overwrite=True).written
    assert read_index_info(db)["seed"] == "7"
    other = tmp_path / "notes.db"
    other.write_text("my notes")
    with pytest.raises(OutputConflictError, match="not a NightScan index"):
        run_index(pool, other)
    assert other.read_text() == "my notes"


def test_the_output_may_not_be_a_folder_or_inside_the_pool(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [1] * 3})
    with pytest.raises(UsageError, match="inside the pool folder"):
        run_index(pool, pool / "index.db")
    with pytest.raises(UsageError, match="is a folder"):
        run_index(pool, tmp_path)
    assert not (pool / "index.db").exists()


def test_a_failed_write_leaves_no_file_and_the_old_index_in_place(tmp_path):
    db = tmp_path / "index.db"
    write_index(db, [("a/x.wav", "a", 0, "a/x.wav", None, "train", "a/x")], {"seed": "1"})

    def rows():
        yield ("a/y.wav", "a", 0, "a/y.wav", None, "train", "a/y")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_index(db, rows(), {"seed": "2"})
    assert read_index_info(db) == {"seed": "1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.db"]
    schema = "".join(r[0] + ";" for r in query(db, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                                                          "ORDER BY rowid"))
    assert "".join(schema.split()) == "".join(SCHEMA.split())


def test_a_database_error_while_writing_is_one_message(tmp_path):
    row = ("a/x.wav", "a", 0, "a/x.wav", None, "train", "a/x")
    with pytest.raises(NightScanError, match="cannot write the index .*UNIQUE constraint failed"):
        write_index(tmp_path / "index.db", [row, row], {})
    assert list(tmp_path.iterdir()) == []


def test_the_loader_warning_is_given_once_for_several_short_classes(tmp_path):
    pool = write_pool(tmp_path / "pool", {"frog": [4], "moth": [7, 7], "owl": [3, 2, 1]})
    warnings = run_index(pool, tmp_path / "index.db").warnings
    assert sum("too few to fill every split" in w for w in warnings) == 2
    assert sum("loader numbers the classes" in w for w in warnings) == 1


def test_an_output_db_in_a_missing_folder_is_refused_not_created(tmp_path):
    pool = write_pool(tmp_path / "pool", {"frog": [4, 5, 6]})
    with pytest.raises(UsageError, match=r"its folder .*/nowhere not found"):
        run_index(pool, tmp_path / "nowhere" / "index.db")
    assert not (tmp_path / "nowhere").exists()


def test_one_content_in_two_classes_is_status_1_and_strict_makes_it_and_empty_splits_fatal(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [2, 1, 1, 1], "bat": [1, 1, 1, 1]},
                      contents={("owl", "rec_001.wav"): b"one clip", ("bat", "rec_003.wav"): b"one clip"})
    report = run_index(pool, tmp_path / "index.db")
    assert report.cross_class == [["bat/rec_003_original.wav", "owl/rec_001_original.wav"]]
    assert report.status == 1 and report.leaking_groups == 0
    strict = IndexOptions(strict=True)
    message = (r"^--strict: 1 problem\(s\), no index written: one recording in two classes: "
               r"bat/rec_003_original.wav = owl/rec_001_original.wav$")
    with pytest.raises(UsageError, match=message):
        run_index(pool, tmp_path / "strict.db", strict)
    short = write_pool(tmp_path / "short", {"moth": [7, 7]})
    with pytest.raises(UsageError, match="class 'moth' has no test samples"):
        run_index(short, tmp_path / "strict.db", strict)
    assert not (tmp_path / "strict.db").exists()


def test_a_pool_with_no_files_exits_2(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [], "bat": []})
    with pytest.raises(UsageError, match="holds no files to index"):
        run_index(pool, tmp_path / "index.db")
    assert not (tmp_path / "index.db").exists()


# Groups across classes: sites, recordings and copies that hold several classes.

CLASSES4 = ("bat", "cricket", "moth", "owl")


def site_pool(root: Path, *, sites: int = 3) -> Path:
    """Four classes, each with recordings from ``sites`` sites and two nights (1 to 3 a night),
    and 10 recordings of its own made elsewhere (no site in their names)."""
    sources, sizes = {}, {}
    for k, cls in enumerate(CLASSES4):
        names = [f"site{s}_night{n}_r{r}.wav" for s in range(sites) for n in range(2)
                 for r in range(1 + (s + n + k) % 3)] + [f"lab_r{r}.wav" for r in range(10)]
        sources[cls], sizes[cls] = names, [1 + (i + k) % 3 for i in range(len(names))]
    return write_pool(root, sizes, sources=sources)


def splits_by(db: Path, pattern: str) -> dict[str, set[str]]:
    import re
    out: dict[str, set[str]] = {}
    for path, split in query(db, "SELECT file_path, split FROM audio_samples"):
        if m := re.search(pattern, path):
            out.setdefault(m[1], set()).add(split)
    return out


def test_three_sites_of_four_classes_grouped_by_site_each_in_one_split_for_every_class(tmp_path):
    from nightscan_common.formats.split_check import check_index_splits
    pool, db = site_pool(tmp_path / "pool"), tmp_path / "index.db"
    options = IndexOptions(ratios=(0.4, 0.3, 0.3), group_pattern=r"^(site\d+)_")
    report = run_index(pool, db, options)
    sites = splits_by(db, r"/(site\d)_")
    assert {k: len(v) for k, v in sites.items()} == {"site0": 1, "site1": 1, "site2": 1}
    assert {split for splits in sites.values() for split in splits} == set(SPLITS)
    assert [(key, sorted(classes)) for key, _, classes in report.shared_groups] == [
        (f"site{s}", sorted(CLASSES4)) for s in range(3)]
    for c in report.classes:  # every split can hold the largest group: each within one of its target
        assert min(c.plan.targets) >= c.largest_group and c.groups == 13
        assert all(abs(d) < c.largest_group for d in c.deviation), c
    assert report.check.passed and report.check.checked["sites"] == 3 and report.status == 0
    info = read_index_info(db)  # what the report reads: the balance and the shared groups
    assert json.loads(info["split_balance"])["owl"] == {
        "targets": list(report.classes[3].plan.targets), "counts": list(report.classes[3].rows),
        "largest_group": report.classes[3].largest_group, "groups": 13, "shared_groups": 3}
    assert json.loads(info["shared_groups"]) == [list(g) for g in report.shared_groups]
    (moved, original), = query(db, "SELECT file_path, original_file FROM audio_samples WHERE file_path LIKE "
                               "'owl/site1%' AND is_augmented = 1 ORDER BY file_path LIMIT 1")
    con = sqlite3.connect(db)  # a hand-made index: one site (and one recording) in two splits
    con.execute("UPDATE audio_samples SET split = CASE split WHEN 'train' THEN 'test' ELSE 'train' END "
                "WHERE file_path = ?", (moved,))
    con.commit()
    con.close()
    check = check_index_splits(db)
    recording = original.replace("_original", "")
    assert check.sites == ["site1"] and check.groups == ["site1"] and check.recordings == [recording]
    assert "1 site key(s) in more than one split: site1" in check.problems()


def test_a_written_index_that_fails_the_check_is_exit_1_with_the_names(tmp_path, monkeypatch, capsys):
    import create_balanced_index
    from nightscan_common.plans import index_plan
    from nightscan_common.steps import index as step

    def one_site_file_elsewhere(cp, **kw):  # a bug in writing, simulated: one row in another split
        rows = index_plan.class_rows(cp, **kw)
        moved = "moth/site2_night1_r0_original.wav"
        return [(*r[:5], "val" if r[5] != "val" else "test", r[6]) if r[0] == moved else r for r in rows]

    monkeypatch.setattr(step, "class_rows", one_site_file_elsewhere)
    status = create_balanced_index.main(["--pool-dir", str(site_pool(tmp_path / "pool")), "--output-db",
                                         str(tmp_path / "i.db"), "--group-pattern", r"^(site\d+)_", "-q"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "split check on the written index (" in out and "): FAILED" in out
    assert ("error: the written index fails the split check: 1 site key(s) in more than one split: "
            "site2") in err
    assert "1 recording(s) in more than one split: moth/site2_night1_r0.wav" in err


def test_a_copy_filed_under_two_classes_has_both_copies_in_one_split(tmp_path):
    same = {(c, f"rec_{i:03d}.wav"): f"recording {i}".encode()
            for i in range(0, 40, 4) for c in ("owl", "moth")}
    pool = write_pool(tmp_path / "pool", {"owl": [2] * 40, "moth": [1] * 40}, contents=same)
    db = tmp_path / "index.db"
    report = run_index(pool, db)
    split_of = {fp: split for fp, split in query(db, "SELECT file_path, split FROM audio_samples")}
    for i in range(0, 40, 4):
        owl = split_of[f"owl/rec_{i:03d}_original.wav"]
        assert owl == split_of[f"moth/rec_{i:03d}_original.wav"]
        assert owl == split_of[f"owl/rec_{i:03d}_aug001_time_stretch.wav"]
    assert len(report.shared_groups) == 10 and report.check.passed
    assert report.cross_class and report.status == 1  # still one recording under two labels: said, exit 1


def window_pool(root: Path) -> Path:
    """Clips named from the audio root: 3 s windows every 1.5 s of two nights, in two classes."""
    sources = {"owl": [f"n{n}_w{i:02d}.wav" for n in range(2) for i in range(0, 12, 2)],
               "moth": [f"n{n}_w{i:02d}.wav" for n in range(2) for i in range(1, 12, 2)]}
    sources["owl"] += [f"solo{i}.wav" for i in range(8)]
    sources["moth"] += [f"solo{i}.wav" for i in range(8)]
    write_pool(root, {c: [2] * len(s) for c, s in sources.items()}, sources=sources)
    meta = json.loads((root / "pool_metadata.json").read_text())
    meta["params"]["annotations"] = "events.csv"
    for cls, entry in meta["classes"].items():
        for f in entry["files"]:
            stem = f["source"][:-4]
            if "_w" in stem:
                night, w = stem.split("_w")
                f["source"] = f"{night}.wav"
                if f["type"] == "original":
                    f |= {"offset": int(w) * 24000, "offset_seconds": int(w) * 1.5, "frames": 48000,
                          "samplerate": 16000}
            else:
                f["source"] = f"{cls}/{f['source']}"
    (root / "pool_metadata.json").write_text(json.dumps(meta))
    return root


def test_windows_of_one_recording_in_two_classes_share_one_split_and_overlaps_are_caught(tmp_path):
    from nightscan_common.formats.split_check import check_index_splits
    db = tmp_path / "index.db"
    report = run_index(window_pool(tmp_path / "pool"), db)
    assert {k: len(v) for k, v in splits_by(db, r"/(n\d)_w").items()} == {"n0": 1, "n1": 1}
    assert report.check.passed and report.check.checked["spans"] == 24
    assert sorted(k for k, _, _ in report.shared_groups) == ["n0.wav", "n1.wav"]
    con = sqlite3.connect(db)
    (split,) = con.execute("SELECT split FROM audio_samples WHERE file_path = ?",
                           ("moth/n0_w03_original.wav",)).fetchone()
    con.execute("UPDATE audio_samples SET split = ? WHERE file_path = 'moth/n0_w03_original.wav'",
                ("val" if split != "val" else "train",))
    con.commit()
    con.close()
    check = check_index_splits(db)
    assert check.recordings == ["n0.wav"]
    assert len(check.spans) == 2 and all(s.startswith("n0.wav: ") for s in check.spans)
    assert "3-6 s in" in " ".join(check.spans) and "4.5-7.5 s in" in " ".join(check.spans)


def test_a_class_whose_groups_all_hold_other_classes_is_named_when_no_split_can_be_filled(tmp_path):
    contents = {("aa", f"rec_{i:03d}.wav"): f"copy {i}".encode() for i in range(3)}
    contents |= {(f"b{i}", "rec_000.wav"): f"copy {i}".encode() for i in range(3)}
    sizes = {"aa": [1, 1, 1], "b0": [1], "b1": [1], "b2": [1]}
    pool = write_pool(tmp_path / "pool", sizes, contents=contents)
    report = run_index(pool, tmp_path / "index.db")
    assert ("class 'aa' has 3 group(s), 3 of them hold other classes too, and moving one would empty a split "
            "of another class: no val or test samples") in report.warnings
    assert report.check.passed and len(report.shared_groups) == 3
