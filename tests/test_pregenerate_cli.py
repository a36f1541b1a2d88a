"""The step 3 front end: defaults from one place, exit statuses, messages, kill and rerun."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from spectrogram_helpers import make_pool, npy_path, small_pool, write_index

import pregenerate_spectrograms_simple as script
from nightscan_common.dsp.animals import DEFAULT_PRESET, PRESETS
from nightscan_common.dsp.spectrogram import SpectrogramConfig
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.io.atomic_write import is_temporary
from nightscan_common.steps.spectrograms import DEFAULT_OUTPUT_DIR, FAILURES_FILENAME, run_spectrograms

SCRIPT = Path(script.__file__).resolve()
REQUIRED = ["--index-db", "i.db", "--pool-root", "pool"]


def _parse(*extra: str):
    return script.build_parser().parse_args([*REQUIRED, *extra])


def test_cli_defaults_are_the_config_and_preset_defaults():
    args = _parse()
    assert args.animal_type == DEFAULT_PRESET and args.output_dir == DEFAULT_OUTPUT_DIR
    for field in dataclasses.fields(SpectrogramConfig):  # every setting has an option...
        assert getattr(args, field.name) is None  # ...that leaves the default to the preset
    assert script.config_from_args(args) == PRESETS[DEFAULT_PRESET] == SpectrogramConfig()
    for name, preset in PRESETS.items():
        assert script.config_from_args(_parse("--animal-type", name)) == preset


def test_options_override_the_preset():
    args = _parse("--animal-type", "owl", "--n-mels", "64", "--fmax", "3000", "--crop", "loudest",
                  "--channels", "3", "--dtype", "float16", "--top-db", "60")
    assert script.config_from_args(args) == PRESETS["owl"].replace(
        n_mels=64, fmax=3000.0, crop="loudest", channels=3, dtype="float16", top_db=60.0)


@pytest.mark.parametrize("options, message", [
    (["--fmax", "20000"], "error: fmax 20000 Hz is above the Nyquist frequency 11025 Hz"),
    (["--fmin", "9000", "--fmax", "8000"], r"error: fmin \(9000 Hz\) must be below fmax \(8000 Hz\)"),
    (["--n-fft", "256"], r"error: n_fft \(256\) must be at least hop_length \(512\)"),
    (["--duration", "-1"], "error: duration must be above 0 s, got -1"),
    (["--n-mels", "0"], "argument --n-mels: must be at least 1, got 0"),
    (["--channels", "2"], "argument --channels: invalid choice"),
])
def test_bad_settings_exit_2_with_one_line_before_any_work(tmp_path, capsys, options, message):
    pool, db, _rows = small_pool(tmp_path)
    out = tmp_path / "out"
    argv = ["--index-db", str(db), "--pool-root", str(pool), "--output-dir", str(out), *options]
    try:
        status = script.main(argv)
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    assert any(re.search(message, line) for line in err.splitlines())
    assert "Traceback" not in err and not out.exists()


def test_a_run_prints_the_summary_and_a_changed_setting_exits_2(tmp_path, capsys):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    argv = ["--index-db", str(db), "--pool-root", str(pool), "--output-dir", str(out), "-q",
            "--num-workers", "2", "--channels", "3", "--dtype", "float16"]
    assert script.main(argv) == 0
    summary = capsys.readouterr().out
    assert "written" in summary and "skipped (done)" in summary and "on disk" in summary
    assert re.search(r"^all\s+7\s+0\s+0\s+7$", summary, re.M)  # written, skipped, failed, total
    assert all(np.load(npy_path(out, r)).shape == (3, 128, 345) for r in rows)
    assert script.main([*argv, "--n-mels", "64"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--overwrite" in err and len(err.strip().splitlines()) == 1


def test_failures_exit_1_and_are_listed(tmp_path, capsys):
    pool, _db, rows = small_pool(tmp_path)
    (pool / "owl" / "bad_original.wav").write_bytes(b"\x00garbage" * 100)
    db = write_index(tmp_path / "i.db", rows + [("owl/bad_original.wav", "owl", "train")])
    out = tmp_path / "out"
    assert script.main(["--index-db", str(db), "--pool-root", str(pool), "--output-dir", str(out),
                        "-q", "--num-workers", "1"]) == 1
    assert "failures: 1" in capsys.readouterr().out
    assert [f["path"] for f in json.loads((out / FAILURES_FILENAME).read_text())] == ["owl/bad_original.wav"]
    assert all(npy_path(out, r).exists() for r in rows)


def test_a_killed_run_resumes_to_the_same_files(tmp_path):
    """SIGKILL to the whole process group part-way, then the same command again."""
    specs = [(f"c{i % 3}/rec_{i:03d}_original.wav", ("train", "val", "test")[i % 3],
              dict(call="hoots", seconds=1.0, samplerate=22050)) for i in range(120)]
    pool = tmp_path / "pool"
    rows = make_pool(pool, specs)
    db = write_index(tmp_path / "index.db", rows)
    full, out = tmp_path / "full", tmp_path / "out"
    run_spectrograms(db, pool, full, PRESETS["general"], run=RunOptions(num_workers=2, progress=False))

    argv = [sys.executable, str(SCRIPT), "--index-db", str(db), "--pool-root", str(pool),
            "--output-dir", str(out), "--num-workers", "1", "-q"]
    proc = subprocess.Popen(argv, cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(list(out.glob("*/*/*.npy"))) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list(out.glob("*/*/*.npy"))
    assert 3 <= len(done) < len(rows), "the run was not interrupted part-way"
    for path in done:  # presence means complete
        assert np.load(path).shape == (128, 345)

    assert script.main(argv[2:]) == 0
    for row in rows:
        assert npy_path(out, row).read_bytes() == npy_path(full, row).read_bytes()
    assert not [p for p in out.rglob("*") if is_temporary(p)]


def test_an_index_from_another_pool_exits_2_naming_both_checksums_and_writes_nothing(tmp_path, capsys):
    import hashlib

    pool, db, rows = small_pool(tmp_path)
    (pool / "pool_metadata.json").write_text('{"a": "pool"}', encoding="utf-8")
    with sqlite3.connect(db) as con:
        con.execute("INSERT OR REPLACE INTO index_info VALUES ('pool_metadata_sha256', ?)", ("ab" * 32,))
    con.close()
    out = tmp_path / "out"
    current = hashlib.sha256(b'{"a": "pool"}').hexdigest()
    assert script.main(["--index-db", str(db), "--pool-root", str(pool), "--output-dir", str(out), "-q"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("error: ") and "was made from another pool" in err[0]
    assert "ab" * 32 in err[0] and current in err[0] and not out.exists()
    assert script.main(["--index-db", str(db), "--pool-root", str(pool), "--output-dir", str(out), "-q",
                        "--num-workers", "1", "--allow-pool-mismatch"]) == 0
    assert "warning: " in capsys.readouterr().err and npy_path(out, rows[0]).is_file()
