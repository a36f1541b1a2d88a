"""Step 2 against hostile and odd pools: half-built, malformed or unbounded metadata, odd names.

Each case ends in one ``error:`` line naming the file and the field (exit 2) or in a
warning and an index without the odd file, never in a traceback or a half pool indexed.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
from fault_helpers import call_main, start_paused, wait_for_pause, wait_until_gone
from pool_factory import write_pool

import create_balanced_index as front
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.formats.index_db import connect_read_only

STEP = "step 2"
GROUPS = {"owl": [2, 2, 2], "bat": [1, 1, 1]}


def _index(tmp_path: Path, pool: Path, capsys, *extra: object) -> tuple[int, str, str]:
    return call_main(front.main, ["--pool-dir", pool, "--output-db", tmp_path / "index.db", "-q", *extra],
                     capsys)


def _refused(tmp_path: Path, pool: Path, capsys, *needles: str) -> str:
    status, _, err = _index(tmp_path, pool, capsys)
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for needle in needles:
        assert needle in err, err
    assert not (tmp_path / "index.db").exists()
    return err


def test_a_pool_whose_step_1_was_killed_at_its_first_journal_line_is_refused(tmp_path, capsys,
                                                                              fault_ledger):
    root = tmp_path / "audio"
    for cls in ("owl", "bat", "frog", "rain"):
        for i in range(2):
            write_recording(root / cls / f"rec_{i}.wav", seconds=0.3, samplerate=8000, seed=i)
    pool = tmp_path / "pool"
    proc, marker = start_paused(tmp_path, "create_augmented_pool.py",
                                ["--audio-root", root, "--output-dir", pool, "--target-samples", "4",
                                 "--augmentations", "volume", "--num-workers", "1", "-q"],
                                pause="nightscan_common.steps.pool:start_journal", after=True)
    wait_for_pause(proc, marker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert wait_until_gone(proc.pid) == []
    assert (pool / ".pool_progress.jsonl").exists() and not (pool / "pool_metadata.json").exists()
    fault_ledger.interruptions[STEP] += 1
    _refused(tmp_path, pool, capsys, "has not finished", "rerun step 1")


def test_temporaries_without_metadata_are_a_pool_being_written(tmp_path, capsys, fault_ledger):
    pool = write_pool(tmp_path / "pool", GROUPS, metadata=False)
    (pool / "owl" / ".rec_000_aug001_noise.wav.k3j2h1g0.nightscan-tmp").write_bytes(b"half")
    fault_ledger.bad_inputs[STEP] += 1
    _refused(tmp_path, pool, capsys, "1 partial file(s)", "rerun it first")


def _set(pool: Path, text: str | bytes) -> None:
    path = pool / "pool_metadata.json"
    path.unlink()
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


def _meta(pool: Path) -> dict:
    return json.loads((pool / "pool_metadata.json").read_text())


MALFORMED = {
    "deep nesting": (lambda m: '{"classes": {}, "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
                     "nested too deep"),
    "a 5,000-digit integer": (lambda m: json.dumps(m).replace('"format_version": 1',
                                                              '"format_version": ' + "9" * 5000),
                              "an integer of 5000 digits"),
    "a lone surrogate escape": (lambda m: json.dumps(m).replace('"rec_000.wav"', '"rec_\\ud800.wav"', 1),
                                "lone surrogate escape (\\ud800)"),
    "NaN": (lambda m: json.dumps(m).replace('"format_version": 1', '"format_version": NaN'),
            "NaN, which is not JSON"),
    "classes.owl = []": (lambda m: json.dumps({**m, "classes": {**m["classes"], "owl": []}}),
                         "'classes.owl' must be an object, got []"),
    "files = 5": (lambda m: json.dumps({**m, "classes": {**m["classes"],
                                                          "owl": {**m["classes"]["owl"], "files": 5}}}),
                  "'classes.owl'.files must be a list, got 5"),
    "params = [1]": (lambda m: json.dumps({**m, "params": [1]}), "'params' must be an object, got [1]"),
    "an entry without source": (
        lambda m: json.dumps({**m, "classes": {**m["classes"], "owl": {**m["classes"]["owl"], "files": [
            {k: v for k, v in f.items() if k != "source"} for f in m["classes"]["owl"]["files"]]}}}),
        "'source' must be the original's path"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_metadata_gives_the_line_that_names_the_field(tmp_path, capsys, fault_ledger, case):
    pool = write_pool(tmp_path / "pool", GROUPS)
    make, needle = MALFORMED[case]
    _set(pool, make(_meta(pool)))
    fault_ledger.bad_inputs[STEP] += 1
    _refused(tmp_path, pool, capsys, "pool_metadata.json", needle)


def test_metadata_that_is_a_device_or_a_pipe_is_not_read(tmp_path, capsys, fault_ledger):
    pool = write_pool(tmp_path / "pool", GROUPS)
    (pool / "pool_metadata.json").unlink()
    (pool / "pool_metadata.json").symlink_to("/dev/zero")
    start = time.monotonic()
    _refused(tmp_path, pool, capsys, "is not a regular file (a device)")
    (pool / "pool_metadata.json").unlink()
    os.mkfifo(pool / "pool_metadata.json")
    _refused(tmp_path, pool, capsys, "is not a regular file (a pipe)")
    assert time.monotonic() - start < 5
    fault_ledger.bad_inputs[STEP] += 2


def test_oversized_metadata_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    from nightscan_common.io import bounded_json

    pool = write_pool(tmp_path / "pool", GROUPS)
    monkeypatch.setattr(bounded_json, "MAX_JSON_BYTES", 100)
    monkeypatch.setattr(bounded_json.load_json_file, "__kwdefaults__", {"max_bytes": 100,
                                                                         "object_hook": None})
    _refused(tmp_path, pool, capsys, "more than the 100 read")


def test_a_class_named_class_metadata_is_a_class_when_the_metadata_lists_it(tmp_path, capsys,
                                                                            fault_ledger):
    pool = write_pool(tmp_path / "pool", {"class_metadata": [1, 1, 1], "owl": [1, 1, 1]})
    status, _, err = _index(tmp_path, pool, capsys)
    assert status == 0, err
    con = connect_read_only(tmp_path / "index.db")
    classes = dict(con.execute("SELECT class_name, COUNT(*) FROM audio_samples GROUP BY class_name"))
    con.close()
    assert classes == {"class_metadata": 3, "owl": 3}
    fault_ledger.bad_inputs[STEP] += 1


def test_a_name_that_is_not_utf8_is_left_out_and_listed(tmp_path, capsys, fault_ledger):
    pool = write_pool(tmp_path / "pool", GROUPS, metadata=False)
    (pool / os.fsdecode(b"owl") / os.fsdecode(b"r\xff_original.wav")).write_bytes(b"x")
    os.mkdir(pool / os.fsdecode(b"b\xffd"))
    (pool / os.fsdecode(b"b\xffd") / "a_original.wav").write_bytes(b"y")
    status, out, err = _index(tmp_path, pool, capsys)
    assert status == 0, err
    assert "2 name(s) are not UTF-8" in out and "b\\xffd" in out and "owl/r\\xff_original.wav" in out
    con = connect_read_only(tmp_path / "index.db")
    assert con.execute("SELECT COUNT(*) FROM audio_samples").fetchone()[0] == 9
    con.close()
    fault_ledger.bad_inputs[STEP] += 1


def test_a_wal_mode_index_gets_no_files_beside_it_from_a_reading_step(tmp_path, capsys):
    pool = write_pool(tmp_path / "pool", GROUPS)
    db = tmp_path / "index.db"
    assert _index(tmp_path, pool, capsys)[0] == 0
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    before = sorted(os.listdir(tmp_path))
    status, _, err = _index(tmp_path, pool, capsys)  # a rerun only reads the index
    assert status == 0, err
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("ratios", [("0.333333",) * 3, ("0.3333",) * 3, ("0.8", "0.1", "0.1")])
def test_ratios_written_to_four_decimals_or_more_are_accepted(tmp_path, capsys, ratios):
    pool = write_pool(tmp_path / "pool", GROUPS)
    status, _, err = _index(tmp_path, pool, capsys, "--train-split", ratios[0], "--val-split", ratios[1],
                            "--test-split", ratios[2])
    assert status == 0, err


def test_ratios_off_by_a_typo_are_still_refused(tmp_path, capsys):
    pool = write_pool(tmp_path / "pool", GROUPS)
    status, _, err = _index(tmp_path, pool, capsys, "--val-split", "0.11")
    assert status == 2 and "must sum to 1" in err


def test_a_group_pattern_that_backtracks_without_bound_is_stopped(tmp_path, capsys, fault_ledger):
    pool = write_pool(tmp_path / "pool", {"owl": [1, 1, 1]},
                      sources={"owl": ["a" * 33 + "!.wav", "b.wav", "c.wav"]})
    start = time.monotonic()
    status, _, err = _index(tmp_path, pool, capsys, "--group-pattern", "(a+)+$")
    assert status == 2 and err.count("\n") == 1, err
    assert "backtracks without bound" in err and "'(a+)+$'" in err
    assert time.monotonic() - start < 10
    fault_ledger.bad_inputs[STEP] += 1


def test_a_pool_that_step_1_is_rewriting_is_refused_while_it_runs_and_once_it_was_killed(tmp_path, capsys,
                                                                                        fault_ledger):
    import create_augmented_pool as step1

    root = tmp_path / "audio"
    for c, cls in enumerate(("owl", "bat", "frog")):
        for i in range(3):
            write_recording(root / cls / f"rec_{i}.wav", seconds=0.3, samplerate=8000, seed=10 * c + i)
    pool = tmp_path / "pool"
    args = ["--audio-root", root, "--output-dir", pool, "--target-samples", "4", "--augmentations", "volume",
            "--num-workers", "1", "-q"]
    assert call_main(step1.main, args, capsys)[0] == 0
    assert _index(tmp_path, pool, capsys)[0] == 0
    (tmp_path / "index.db").unlink()
    write_recording(root / "owl" / "rec_3.wav", seconds=0.3, samplerate=8000, seed=99)  # a rerun with work
    proc, marker = start_paused(tmp_path, "create_augmented_pool.py", args,
                                pause="nightscan_common.steps.pool:start_journal", after=True)
    try:
        wait_for_pause(proc, marker)
        assert (pool / "pool_metadata.json").exists()  # the older metadata, beside the new journal
        _refused(tmp_path, pool, capsys, "is being written by create_augmented_pool.py", "lock")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    assert wait_until_gone(proc.pid) == []
    _refused(tmp_path, pool, capsys, "was rewriting and has not finished", "rerun step 1")
    assert call_main(step1.main, args, capsys)[0] == 0  # the rerun finishes it: indexed again
    assert _index(tmp_path, pool, capsys)[0] == 0
    fault_ledger.interruptions[STEP] += 2


HOSTILE_OLD_ROWS = {  # (file_path, split, group_key) of the bad row, and what the line says
    "a validation split": (("owl/rec_000_original.wav", "validation", "g"), "split is not one of"),
    "an integer split": (("owl/rec_000_original.wav", 1, "g"), "split is not one of train, val, test (1)"),
    "a NULL split": (("owl/rec_000_original.wav", None, "g"), "(None)"),
    "a NULL file_path": ((None, "train", "g"), "file_path is not a non-empty text (None)"),
    "an integer file_path": ((7, "train", "g"), "file_path is not a non-empty text (7)"),
    "a NULL group_key": (("owl/rec_000_original.wav", "train", None), "group_key is not a non-empty text"),
    "an integer group_key": (("owl/rec_000_original.wav", "val", 3), "group_key is not a non-empty text (3)"),
    "one file in two splits": (("bat/rec_000_original.wav", "test", "g2"), "the file is in train too"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_OLD_ROWS))
def test_keep_splits_from_an_index_whose_rows_are_not_step_2_s(tmp_path, capsys, fault_ledger, case):
    pool = write_pool(tmp_path / "pool", GROUPS)
    old = tmp_path / "old.db"
    con = sqlite3.connect(old)  # typeless columns, no CHECK: what another tool may write
    con.execute("CREATE TABLE audio_samples (id INTEGER PRIMARY KEY, file_path, class_name, split, "
                "group_key)")
    con.execute("INSERT INTO audio_samples VALUES (1, 'bat/rec_000_original.wav', 'bat', 'train', 'g1')")
    row, needle = HOSTILE_OLD_ROWS[case]
    con.execute("INSERT INTO audio_samples VALUES (2, ?, 'owl', ?, ?)", (row[0], row[1], row[2]))
    con.commit()
    con.close()
    status, _, err = _index(tmp_path, pool, capsys, "--keep-splits-from", old)
    assert status == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert f"old.db: row 2 ({row[0]!r})" in err and needle in err, err
    assert not (tmp_path / "index.db").exists()
    fault_ledger.bad_inputs[STEP] += 1
