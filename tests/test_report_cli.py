"""make_report.py as a user runs it: options, exit statuses, bad inputs, run_pipeline.sh's last step."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import ROOT, run_script
from report_helpers import pipeline  # noqa: F401  (the session fixture)

import make_report
from nightscan_common.report import ListenOptions, ReportOptions


def _one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_help_has_an_example_and_the_defaults_are_the_options_defaults(capsys):
    with pytest.raises(SystemExit) as stop:
        make_report.main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "python make_report.py --pool-dir" in text and "--spectrogram-dir" in text
    args = make_report.build_parser().parse_args(["--pool-dir", "p", "--index-db", "i"])
    grid, options = ListenOptions(), ReportOptions()
    assert (args.seed, args.listen_classes, args.listen_originals, args.listen_augmentations) == (
        grid.seed, grid.classes, grid.originals, grid.augmentations)
    assert args.max_classes == options.max_classes and args.output_dir == "data/report"


def test_a_run_prints_the_summary_and_the_path_and_the_seed_picks_the_grid(pipeline, tmp_path):  # noqa: F811
    result = run_script("make_report.py", *pipeline.report_args(tmp_path / "report"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith(
        "3 classes, 22 samples, target 8, 1 short, 1 skipped, 0 leaking groups, 0 recording(s) in two "
        "classes, 1 duplicates; page ")
    assert result.stdout.splitlines()[-1] == f"report: {tmp_path / 'report' / 'report.html'}"
    quiet = run_script("make_report.py", *pipeline.report_args(tmp_path / "quiet", "-q"))
    assert quiet.stdout == f"report: {tmp_path / 'quiet' / 'report.html'}\n"
    seeded = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    other = run_script("make_report.py", *pipeline.report_args(tmp_path / "seed7", "--seed", "7", "-q"))
    assert other.returncode == 0
    reseeded = json.loads((tmp_path / "seed7" / "report.json").read_text(encoding="utf-8"))
    assert reseeded["listen"]["seed"] == 7 and reseeded["listen"] != seeded["listen"]


def test_an_unreadable_file_to_play_is_shown_and_exits_1(pipeline, tmp_path):  # noqa: F811
    pool = tmp_path / "pool"
    shutil.copytree(pipeline.pool, pool)
    for wav in (pool / "owl").glob("*_aug*.wav"):
        wav.write_bytes(b"")
    result = run_script("make_report.py", "--pool-dir", pool, "--index-db", pipeline.index,
                        "--output-dir", tmp_path / "out", "-q")
    assert result.returncode == 1, result.stderr
    assert re.search(r"warning: could not read owl/rec_000_aug001_[a-z_]+\.wav", result.stderr)
    assert "not readable: " in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def _bad_metadata(p: Path) -> None:
    (p / "pool" / "pool_metadata.json").write_text('{"classes": {"owl": ', encoding="utf-8")


def _legacy_metadata(p: Path) -> None:
    (p / "pool" / "pool_metadata.json").write_text('{"classes": {"owl": {"total_count": 6}}}',
                                                   encoding="utf-8")


def _bad_index(p: Path) -> None:
    (p / "index.db").write_bytes(b"SQLite format 3\x00 but truncated here")


def _no_index(p: Path) -> None:
    (p / "index.db").unlink()


def _no_spectrogram_config(p: Path) -> None:
    (p / "spectrograms" / "spectrogram_config.json").unlink()


def _no_pool(p: Path) -> None:
    shutil.rmtree(p / "pool")


@pytest.mark.parametrize("damage, message", [
    (_bad_metadata, "pool_metadata.json is not readable JSON"),
    (_legacy_metadata, "class 'owl' has no readable file list"),
    (_bad_index, "is not an index made by create_balanced_index.py"),
    (_no_index, "index database not found"),
    (_no_spectrogram_config, "spectrogram_config.json not found"),
    (_no_pool, "pool folder not found"),
])
def test_a_corrupt_or_missing_input_exits_2_with_one_line_and_writes_nothing(pipeline, tmp_path, damage,  # noqa: F811
                                                                             message):
    for name in ("pool", "spectrograms"):
        shutil.copytree(pipeline.root / name, tmp_path / name)
    shutil.copy(pipeline.index, tmp_path / "index.db")
    damage(tmp_path)
    result = run_script("make_report.py", "--pool-dir", tmp_path / "pool",
                        "--index-db", tmp_path / "index.db", "--spectrogram-dir", tmp_path / "spectrograms",
                        "--output-dir", tmp_path / "out")
    assert result.returncode == 2
    assert message in _one_error_line(result)
    assert result.stdout == "" and not (tmp_path / "out").exists()


def test_an_output_inside_the_pool_is_refused(pipeline, tmp_path):  # noqa: F811
    before = sorted(p.name for p in pipeline.pool.iterdir())
    result = run_script("make_report.py", *pipeline.report_args(pipeline.pool / "report"))
    assert result.returncode == 2
    assert "is inside the pool folder" in _one_error_line(result)
    assert sorted(p.name for p in pipeline.pool.iterdir()) == before


def test_bad_options_exit_2():
    result = run_script("make_report.py", "--pool-dir", "p", "--index-db", "i", "--listen-classes", "-1")
    assert result.returncode == 2 and "must be 0 or more, got -1" in result.stderr


def test_run_pipeline_ends_with_the_report_and_prints_its_path(tmp_path, make_audio_root):
    """The pipeline on a tiny audio root; its last line is the report's path."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text(f'#!/usr/bin/env bash\nexec {sys.executable} "$@"\n')
    (venv / "bin" / "python").chmod(0o755)
    requirements = (ROOT / "requirements.txt").read_bytes() + (ROOT / "requirements-dev.txt").read_bytes()
    (venv / ".requirements.sha256").write_text(hashlib.sha256(requirements).hexdigest() + "\n")
    audio = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEP", "DEMO_"))}
    result = subprocess.run([str(ROOT / "run_pipeline.sh"), "--audio-root", audio, "--data-dir", "data",
                             "--target-samples", "4", "--num-workers", "1", "-q"], cwd=tmp_path,
                            env=env | {"NIGHTSCAN_VENV": str(venv)}, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    report = tmp_path / "data" / "report" / "report.html"
    assert result.stdout.splitlines()[-1] == f"report: {report}"
    record = json.loads((report.parent / "report.json").read_text(encoding="utf-8"))
    assert (record["summary"]["classes"], record["summary"]["samples"]) == (2, 8)


def _another_pool(pipeline, tmp_path: Path) -> Path:  # noqa: F811
    """The pipeline's pool, its metadata rewritten (a later step 1 run): no longer the index's."""
    shutil.copytree(pipeline.pool, tmp_path / "pool")
    meta = tmp_path / "pool" / "pool_metadata.json"
    meta.write_text(meta.read_text(encoding="utf-8").replace('"created_at": "', '"created_at": "x'),
                    encoding="utf-8")
    return tmp_path / "pool"


def test_an_index_from_another_pool_exits_2_naming_both_checksums_unless_allowed(pipeline, tmp_path):  # noqa: F811
    pool = _another_pool(pipeline, tmp_path)
    from nightscan_common.formats.index_db import read_index_info

    recorded = read_index_info(pipeline.index)["pool_metadata_sha256"]
    current = hashlib.sha256((pool / "pool_metadata.json").read_bytes()).hexdigest()
    args = ["--pool-dir", pool, "--index-db", pipeline.index, "--spectrogram-dir", pipeline.spectrograms]
    refused = run_script("make_report.py", *args, "--output-dir", tmp_path / "out")
    line = _one_error_line(refused)
    assert refused.returncode == 2 and recorded in line and current in line
    assert "was made from another pool" in line and "--allow-pool-mismatch" in line
    assert refused.stdout == "" and not (tmp_path / "out").exists()
    allowed = run_script("make_report.py", *args, "--output-dir", tmp_path / "out", "--allow-pool-mismatch")
    assert allowed.returncode == 0, allowed.stderr
    record = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert any("another pool_metadata.json" in w for w in record["splits"]["warnings"])
