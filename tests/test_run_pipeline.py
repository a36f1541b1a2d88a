"""run_pipeline.sh: usage errors, a failing step, and the demo end to end as the training loader reads it."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from nightscan_loader import CachedSpectrogramLoader

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "run_pipeline.sh"
SPLITS = ("train", "val", "test")
#: What the caller's shell might have set; each test says what it wants.
PIPELINE_ENV = ("AUDIO_ROOT", "DATA_DIR", "TARGET_SAMPLES", "NUM_WORKERS", "SEED", "ANIMAL_TYPE",
                "GROUP_PATTERN", "STEP1_OPTIONS", "STEP2_OPTIONS", "STEP3_OPTIONS", "DEMO_SCALE")


def _env(**values: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PIPELINE_ENV}
    return env | {k: str(v) for k, v in values.items()}


def run_pipeline(*args: object, cwd: Path, **env: object) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *map(str, args)], cwd=cwd, env=_env(**env), capture_output=True,
                          text=True, timeout=300)


def _stderr_lines(result: subprocess.CompletedProcess) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# ---------------------------------------------------------------- usage errors (no step runs)


def test_an_audio_root_that_does_not_exist_exits_2_with_one_line(tmp_path):
    result = run_pipeline("--audio-root", "no_such_folder", "--data-dir", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert _stderr_lines(result) == [
        f"run_pipeline.sh: error: audio root not found or not a folder: {tmp_path}/no_such_folder"]
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_the_audio_root_may_come_from_the_environment(tmp_path):
    result = run_pipeline(cwd=tmp_path, AUDIO_ROOT=tmp_path / "missing")
    assert result.returncode == 2
    assert _stderr_lines(result) == [
        f"run_pipeline.sh: error: audio root not found or not a folder: {tmp_path}/missing"]


@pytest.mark.parametrize("args, message", [
    ((), "no audio root"),
    (("--bogus",), "unknown argument '--bogus'"),
    (("--seed",), "--seed needs a value"),
    (("--demo", "--audio-root", "x"), "--demo makes its own audio root"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, args, message):
    result = run_pipeline(*args, cwd=tmp_path)
    assert result.returncode == 2
    lines = _stderr_lines(result)
    assert len(lines) == 1 and lines[0].startswith("run_pipeline.sh: error: ") and message in lines[0]


def test_help_documents_every_variable(tmp_path):
    result = run_pipeline("--help", cwd=tmp_path)
    assert result.returncode == 0
    for name in PIPELINE_ENV + ("NIGHTSCAN_VENV",):
        assert name in result.stdout
    assert "usage:" in result.stdout


def test_a_bad_option_of_a_late_step_stops_everything_before_step_1(tmp_path, make_audio_root):
    audio = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    result = run_pipeline("--audio-root", audio, "--data-dir", tmp_path / "data", cwd=tmp_path,
                          ANIMAL_TYPE="bogus")
    assert result.returncode == 2
    assert "step 3 (pregenerate_spectrograms_simple.py) would refuse its options" in result.stderr
    assert "'bogus'" in result.stderr
    assert not (tmp_path / "data").exists()


# ---------------------------------------------------------------- a step that fails


def test_a_failing_step_stops_the_pipeline_and_is_named(tmp_path, make_audio_root):
    audio = make_audio_root({"owl": 3, "bat": 4}, seconds=0.3)
    data = tmp_path / "data"
    data.mkdir()
    (data / "spectrograms_balanced").write_text("a file where step 3 wants its folder")
    result = run_pipeline("--audio-root", audio, "--data-dir", data, "-q", cwd=tmp_path,
                          TARGET_SAMPLES=5, NUM_WORKERS=2)
    assert result.returncode == 2, result.stderr
    lines = _stderr_lines(result)
    assert lines[-1] == (
        "run_pipeline.sh: step 3 (pregenerate_spectrograms_simple.py) failed with exit status 2")
    assert lines[-2].startswith("error: ") and "spectrograms_balanced" in lines[-2]
    assert (data / "augmented_pool" / "pool_metadata.json").is_file()
    assert (data / "balanced_audio_index.db").is_file()
    assert "all done" not in result.stdout and "train_audio_large_scale.py" not in result.stdout


def test_the_first_failing_step_is_the_last_one_run(tmp_path, make_audio_root):
    audio = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    data = tmp_path / "data"
    data.mkdir()
    (data / "augmented_pool").write_text("not a folder")
    result = run_pipeline("--audio-root", audio, "--data-dir", data, "-q", cwd=tmp_path, TARGET_SAMPLES=5)
    assert result.returncode == 2
    assert _stderr_lines(result)[-1] == (
        "run_pipeline.sh: step 1 (create_augmented_pool.py) failed with exit status 2")
    assert "== step 2" not in result.stdout
    assert not (data / "balanced_audio_index.db").exists()


def test_skipped_files_are_a_warning_and_the_pipeline_goes_on(tmp_path, make_audio_root):
    audio = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    (audio / "owl" / "broken.wav").write_bytes(b"RIFF but not really a wave file")
    result = run_pipeline("--audio-root", audio, "--data-dir", tmp_path / "data", "-q", cwd=tmp_path,
                          TARGET_SAMPLES=5, NUM_WORKERS=2)
    assert result.returncode == 1, result.stderr
    assert ("run_pipeline.sh: warning: step 1 (create_augmented_pool.py) exited with status 1"
            in result.stderr)
    assert "owl/broken.wav" in result.stdout + result.stderr
    assert "== all done" in result.stdout and "--num-classes 2" in result.stdout
    assert len(list((tmp_path / "data" / "spectrograms_balanced").rglob("*.npy"))) == 10


@pytest.fixture
def venv_with_a_failing_step(tmp_path: Path) -> Path:
    """A virtual environment whose python fakes one step (FAKE_STEP) and runs the others.

    The step prints FAKE_STDERR and exits FAKE_STATUS at once, which shows what the
    pipeline does with a step that ended on a full disk or a crash, in a second.
    """
    venv = tmp_path / "fake_venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f"""#!/usr/bin/env bash
if [ "${{1-}}" = "$FAKE_STEP" ]; then
    printf '%s\\n' "$FAKE_STDERR" >&2
    exit "$FAKE_STATUS"
fi
exec {sys.executable} "$@"
""")
    python.chmod(0o755)
    requirements = (ROOT / "requirements.txt").read_bytes() + (ROOT / "requirements-dev.txt").read_bytes()
    (venv / ".requirements.sha256").write_text(hashlib.sha256(requirements).hexdigest() + "\n")
    return venv


@pytest.mark.parametrize("status, stderr, verdict", [
    (1, "error: No space left on device: pool/x.wav; finished files are kept", "failed with exit status 1"),
    (1, "Traceback (most recent call last):\nValueError: a bug", "failed with exit status 1"),
    (1, "warning: owl/a.wav: not audio", "failed with exit status 1"),  # and no pool_metadata.json
    (130, "error: interrupted; finished files are kept", "failed with exit status 130 (interrupted)"),
    (3, "something else", "failed with exit status 3"),
])
def test_a_step_that_did_not_finish_stops_the_pipeline(tmp_path, venv_with_a_failing_step, status, stderr,
                                                        verdict):
    (tmp_path / "audio" / "owl").mkdir(parents=True)
    result = run_pipeline("--audio-root", "audio", "--data-dir", "data", cwd=tmp_path,
                          NIGHTSCAN_VENV=venv_with_a_failing_step, FAKE_STEP="create_augmented_pool.py",
                          FAKE_STATUS=status, FAKE_STDERR=stderr)
    assert result.returncode == status
    last = _stderr_lines(result)[-1]
    assert last.startswith(f"run_pipeline.sh: step 1 (create_augmented_pool.py) {verdict}")
    assert stderr.splitlines()[0] in result.stderr
    assert "== step 2" not in result.stdout


# ---------------------------------------------------------------- end to end


def _interrupt_in_step_3(cwd: Path, spectrograms: Path, **env: object) -> subprocess.CompletedProcess:
    """Run the demo pipeline and press Ctrl-C (SIGINT to its process group) once step 3 has begun."""
    proc = subprocess.Popen([str(SCRIPT), "--demo", "--data-dir", "data", "-q"], cwd=cwd, env=_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if len(list(spectrograms.glob("*/*/*.npy"))) >= 3:
            os.killpg(proc.pid, signal.SIGINT)
            break
        time.sleep(0.01)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _check_like_the_training_loader(data: Path, *, per_class: int) -> None:
    """Every row of every split has its spectrogram, with the right class; no group straddles splits."""
    index, pool = data / "balanced_audio_index.db", data / "augmented_pool"
    cache = data / "spectrograms_balanced"
    loaders = {split: CachedSpectrogramLoader(index, pool, cache, split) for split in SPLITS}
    try:
        classes = loaders["train"].class_names
        assert len(classes) >= 5
        splits_of_group: dict[str, set[str]] = defaultdict(set)
        seen_paths = set()
        for split, loader in loaders.items():
            assert len(loader) > 0
            assert loader.class_names == classes, f"{split} lacks a class: its labels would shift"
            for i in range(len(loader)):
                spectrogram, label = loader[i]
                row = loader.row(i)
                assert spectrogram.shape == (3, 128, 345)
                assert np.isfinite(spectrogram).all()
                assert classes[label] == row["class_name"] == row["file_path"].split("/")[0]
                assert (pool / row["file_path"]).is_file()
                seen_paths.add(loader.cache_path(row))
                splits_of_group[row["original_file"]].add(split)
                splits_of_group["group " + row["group_key"]].add(split)
        assert [g for g, s in splits_of_group.items() if len(s) > 1] == []
        assert len(seen_paths) == sum(len(loader) for loader in loaders.values())
    finally:
        for loader in loaders.values():
            loader.close()
    with sqlite3.connect(index) as con:
        totals = dict(con.execute("SELECT class_name, COUNT(*) FROM audio_samples GROUP BY class_name"))
    assert set(totals.values()) == {per_class}


def test_demo_end_to_end_as_the_training_loader_reads_it(tmp_path):
    """The reduced demo through the three steps, interrupted in step 3 and resumed, from another folder."""
    env = dict(TARGET_SAMPLES=20, DEMO_SCALE=0.1, NUM_WORKERS=2)
    data = tmp_path / "data"  # given relative to the caller's folder, tmp_path
    spectrograms = data / "spectrograms_balanced"
    interrupted = _interrupt_in_step_3(tmp_path, spectrograms, **env | {"NUM_WORKERS": 1})
    if interrupted.returncode != 0:  # else it finished before the signal: nothing to resume
        assert interrupted.returncode == 130, interrupted.stderr
        assert ("run_pipeline.sh: step 3 (pregenerate_spectrograms_simple.py) failed with exit status 130"
                in interrupted.stderr)

    result = run_pipeline("--demo", "--data-dir", "data", "-q", cwd=tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "already there with this seed and scale" in result.stdout
    assert "already complete: nothing to do" in result.stdout
    _check_like_the_training_loader(data, per_class=20)
    expected_command = [
        "python train_audio_large_scale.py", f"--index-db {data}/balanced_audio_index.db",
        f"--audio-root {data}/augmented_pool", f"--spectrogram-cache-dir {spectrograms}",
        "--num-classes 6", "--model efficientnet-b1", "--batch-size 128", "--no-balance-classes",
        "--epochs 50"]
    command = result.stdout.split("train with", 1)[1]
    assert all(part in command for part in expected_command)
    assert not list(data.rglob("*.nightscan-tmp"))

    rows = _index_rows(data / "balanced_audio_index.db")
    again = run_pipeline("--demo", "--data-dir", "data", "-q", cwd=tmp_path, **env)
    assert again.returncode == 0, again.stderr
    assert re.search(r"^all\s+0\s+120\s+0\s+120$", again.stdout, re.M), again.stdout  # step 3: all done
    assert _index_rows(data / "balanced_audio_index.db") == rows


def _index_rows(index: Path) -> list[tuple]:
    with sqlite3.connect(index) as con:
        return con.execute("SELECT * FROM audio_samples ORDER BY file_path").fetchall()
