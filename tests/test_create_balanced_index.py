"""create_balanced_index.py: options, defaults, messages, exit statuses, the summary."""

from __future__ import annotations

import inspect
import re
import sqlite3

import pytest
from cli_helpers import run_script
from pool_factory import write_pool
from pool_helpers import run_pool

import create_balanced_index
from nightscan_common.steps.index import IndexOptions, run_index


def test_cli_defaults_are_the_module_defaults():
    args = create_balanced_index.build_parser().parse_args(["--pool-dir", "pool"])
    options = IndexOptions()
    assert (args.train_split, args.val_split, args.test_split) == options.ratios
    assert args.random_seed == options.seed
    assert args.group_pattern == options.group_pattern
    assert args.eval_originals_only == options.eval_originals_only
    defaults = inspect.signature(run_index).parameters
    assert args.output_db == defaults["output_db"].default
    assert args.overwrite == defaults["overwrite"].default


@pytest.mark.parametrize("extra, message", [
    (["--test-split", "0.2"], "the train/val/test ratios must sum to 1, got 0.8 + 0.1 + 0.2 = 1.1"),
    (["--val-split", "-0.1", "--test-split", "0.3"], "the val ratio must be 0 or more, got -0.1"),
    (["--group-pattern", "(site"], "the group pattern '(site' is not a valid regular expression"),
    (["--pool-dir", "nowhere"], "pool folder not found: nowhere"),
    (["--output-db", "notes.txt"], "notes.txt already exists and is not a NightScan index; "
                                   "pass --overwrite to replace it"),
])
def test_bad_usage_exits_2_with_one_line(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(tmp_path)
    write_pool(tmp_path / "pool", {"owl": [1] * 10})
    (tmp_path / "notes.txt").write_text("mine")
    status = create_balanced_index.main(["--pool-dir", "pool", "-q", *extra])
    err = capsys.readouterr().err
    assert status == 2
    assert err.splitlines() == [err.strip()] and err.startswith("error: ") and message in err
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "balanced_audio_index.db").exists()


def test_the_summary_gives_counts_per_class_and_split_and_the_leakage_check(tmp_path, capsys):
    pool = write_pool(tmp_path / "pool", {"owl": [3, 3, 4, 2, 2, 3, 1, 2], "moth": [2, 2]})
    db = tmp_path / "index.db"
    assert create_balanced_index.main(["--pool-dir", str(pool), "--output-db", str(db), "-q"]) == 0
    out = capsys.readouterr().out
    header = r"^class +train +val +test +total +train orig\+aug .* deviation +max dev +largest group$"
    assert re.search(header, out, re.M)
    assert re.search(r"^owl +\d+ +\d+ +\d+ +20 +\d+\+\d+ .* [+-]\d+/[+-]\d+/[+-]\d+ +\d+ +4$", out, re.M)
    assert re.search(r"^all +\d+ +\d+ +\d+ +24 ", out, re.M)
    assert "leakage check: 0 group(s) in more than one split" in out
    assert ("split check on the written index (10 groups, 10 recordings, 0 sites, 0 spans, each in one "
            "split): passed") in out
    assert "class 'moth' has 2 group(s)" in out
    assert create_balanced_index.main(["--pool-dir", str(pool), "--output-db", str(db), "-q"]) == 0
    assert "already up to date" in capsys.readouterr().out


def site_splits(db) -> dict[str, set[str]]:
    con = sqlite3.connect(db)
    out: dict[str, set[str]] = {}
    for path, split in con.execute("SELECT file_path, split FROM audio_samples"):
        out.setdefault(re.match(r"owl/(site\d+)_", path)[1], set()).add(split)
    con.close()
    return out


def test_a_group_pattern_keeps_each_site_in_one_split(tmp_path, capsys):
    sources = [f"site{s}_night{n}.wav" for s in range(8) for n in range(6)]
    pool = write_pool(tmp_path / "pool", {"owl": [3] * len(sources)}, sources={"owl": sources})
    base = ["--pool-dir", str(pool), "-q"]
    assert create_balanced_index.main([*base, "--output-db", str(tmp_path / "plain.db")]) == 0
    assert any(len(s) > 1 for s in site_splits(tmp_path / "plain.db").values())
    assert create_balanced_index.main([*base, "--output-db", str(tmp_path / "sites.db"),
                                       "--group-pattern", r"^(site\d+)_"]) == 0
    sites = site_splits(tmp_path / "sites.db")
    assert len(sites) == 8 and all(len(s) == 1 for s in sites.values())
    assert set().union(*sites.values()) == {"train", "val", "test"}


def test_eval_originals_only_reports_what_it_dropped(tmp_path, capsys):
    pool = write_pool(tmp_path / "pool", {"owl": [5] * 20})
    argv = ["--pool-dir", str(pool), "--output-db", str(tmp_path / "i.db"), "-q", "--eval-originals-only"]
    assert create_balanced_index.main(argv) == 0
    out = capsys.readouterr().out
    assert re.search(r"max dev +largest group +dropped$", out, re.M)
    assert re.search(r"^owl +80 +2 +2 +84 +16\+64 +2\+0 +2\+0 +\+0/\+0/\+0 +0 +5 +16$", out, re.M)


def test_a_pool_made_by_step_1_is_indexed(tmp_path, make_audio_root):
    root = make_audio_root({"asio_flammeus": 4, "rain": 6}, seconds=0.2)
    run_pool(root, tmp_path / "pool", target_samples=10, num_workers=1)
    report = run_index(tmp_path / "pool", tmp_path / "index.db")
    assert [(c.name, sum(c.rows), c.groups) for c in report.classes] == [
        ("asio_flammeus", 10, 4), ("rain", 10, 6)]
    assert report.leaking_groups == 0 and report.warnings == []


def test_the_script_runs_as_a_user_runs_it(tmp_path):
    shown = run_script("create_balanced_index.py", "--help")
    assert shown.returncode == 0
    assert "example:" in shown.stdout and "--group-pattern" in shown.stdout
    failed = run_script("create_balanced_index.py", "--pool-dir", tmp_path / "missing",
                        "--output-db", tmp_path / "index.db")
    assert failed.returncode == 2
    assert failed.stderr.splitlines() == [f"error: pool folder not found: {tmp_path / 'missing'}"]
