"""The pipeline: usage errors, options checked up front, a failing step, and the demo end to
end as the training loader reads it. Most cases run pipeline.py in this process; the shell
wrapper runs twice (a usage error, and the interrupted demo)."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from nightscan_loader import CachedSpectrogramLoader

import create_augmented_pool
import pipeline

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "run_pipeline.sh"
SPLITS = ("train", "val", "test")
#: What the caller's shell might have set; each test says what it wants.
PIPELINE_ENV = ("AUDIO_ROOT", "DATA_DIR", "TARGET_SAMPLES", "NUM_WORKERS", "SEED", "ANIMAL_TYPE",
                "GROUP_PATTERN", "STEP1_OPTIONS", "STEP2_OPTIONS", "STEP3_OPTIONS", "STEP4_OPTIONS",
                "DEMO_SCALE", "SCHEDULER")


def _env(**values: object) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PIPELINE_ENV}
    return env | {k: str(v) for k, v in values.items()}


def run_pipeline(*args: object, cwd: Path, **env: object) -> subprocess.CompletedProcess:
    """The shell wrapper, as a user runs it."""
    return subprocess.run([str(SCRIPT), *map(str, args)], cwd=cwd, env=_env(**env), capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def pipe(capsys, monkeypatch, tmp_path):
    """pipeline.py in this process, from ``tmp_path``: (*args, **env) -> (status, stdout, stderr lines)."""
    monkeypatch.chdir(tmp_path)

    def run(*args: object, **env: object) -> tuple[int, str, list[str]]:
        capsys.readouterr()
        status = pipeline.main([str(a) for a in args], env=_env(**env))
        out, err = capsys.readouterr()
        return status, out, [line for line in err.splitlines() if line.strip()]

    return run


# ---------------------------------------------------------------- usage errors (no step runs)


def test_the_wrapper_passes_usage_errors_through_with_status_2(tmp_path):
    result = run_pipeline("--audio-root", "no_such_folder", "--data-dir", "out", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"run_pipeline.sh: error: audio root not found or not a folder: {tmp_path}/no_such_folder"]
    assert result.stdout == "" and not (tmp_path / "out").exists()


def test_the_audio_root_may_come_from_the_environment(pipe, tmp_path):
    status, _, err = pipe(AUDIO_ROOT=tmp_path / "missing")
    assert status == 2
    assert err == [f"run_pipeline.sh: error: audio root not found or not a folder: {tmp_path}/missing"]


@pytest.mark.parametrize("args, message", [
    ((), "no audio root"),
    (("--bogus",), "unknown argument '--bogus'"),
    (("--bogus=1",), "unknown option '--bogus'"),
    (("--seed",), "--seed needs a value"),
    (("--demo", "--audio-root", "x"), "--demo makes its own audio root"),
])
def test_usage_errors_exit_2_with_one_line(pipe, args, message):
    status, out, err = pipe(*args)
    assert status == 2 and out == ""
    assert len(err) == 1 and err[0].startswith("run_pipeline.sh: error: ") and message in err[0]


def test_help_documents_every_variable_and_the_exit_statuses(pipe):
    status, out, _ = pipe("--help")
    assert status == 0 and "usage:" in out
    for name in PIPELINE_ENV + ("NIGHTSCAN_VENV", "--dry-run", "--version", "3    stopped before finishing"):
        assert name in out
    assert pipe("--version")[:2] == (0, f"run_pipeline.sh {pipeline.__version__}\n")


@pytest.mark.parametrize("args, env, step, message", [
    ((), {"ANIMAL_TYPE": "bogus"}, "1 (create_augmented_pool.py)", "'bogus'"),  # steps 1 and 3 take it
    (("--group-pattern", "(["), {}, "2 (create_balanced_index.py)", "is not a valid regular expression"),
    ((), {"STEP2_OPTIONS": "--train-split 0.9"}, "2 (create_balanced_index.py)", "must sum to 1"),
    ((), {"STEP3_OPTIONS": "--fmax 20000"}, "3 (pregenerate_spectrograms_simple.py)", "above the Nyquist"),
    ((), {"STEP1_OPTIONS": "--augmentations bogus"}, "1 (create_augmented_pool.py)", "bogus"),
    ((), {"STEP4_OPTIONS": "--listen-classes -1"}, "4 (make_report.py)", "must be 0 or more, got -1"),
])
def test_a_bad_option_of_any_step_stops_everything_before_step_1(pipe, tmp_path, make_audio_root, args, env,
                                                                 step, message):
    audio = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    status, out, err = pipe("--audio-root", audio, "--data-dir", tmp_path / "data", *args, **env)
    assert status == 2 and out == "" and len(err) == 1, err
    assert f"step {step} would refuse its options" in err[0] and message in err[0]
    assert not (tmp_path / "data").exists()


def test_a_dry_run_prints_every_step_and_step_1s_plan_and_writes_nothing(pipe, tmp_path, make_audio_root):
    audio = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    status, out, _ = pipe("--audio-root", audio, "--data-dir", tmp_path / "data", "--dry-run",
                          TARGET_SAMPLES=5)
    assert status == 0
    assert all(f"== step {n}: python " in out for n in (1, 2, 3))
    assert f"== step 4: python make_report.py --pool-dir {tmp_path}/data/augmented_pool " in out
    assert "plan (nothing written):" in out and re.search(r"^owl\s+3\s+3\s+", out, re.M)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("args, env", [(("--scheduler", "tcp://10.0.0.5:8786"), {}),
                                       ((), {"SCHEDULER": "tcp://10.0.0.5:8786"})])
def test_the_scheduler_goes_to_steps_1_and_3_only(tmp_path, args, env):
    values = pipeline.parse(["--audio-root", str(tmp_path), *args], env)
    steps, _ = pipeline.plan(values, env)
    given = {s.number: s.args[s.args.index("--scheduler") + 1] for s in steps if "--scheduler" in s.args}
    assert given == {1: "tcp://10.0.0.5:8786", 3: "tcp://10.0.0.5:8786"}
    pipeline.check(steps)  # both steps' parsers take it


# ---------------------------------------------------------------- a step that fails


def test_a_failing_step_stops_the_pipeline_and_is_named(pipe, tmp_path, make_audio_root):
    audio = make_audio_root({"owl": 3, "bat": 4}, seconds=0.3)
    data = tmp_path / "data"
    data.mkdir()
    (data / "spectrograms_balanced").write_text("a file where step 3 wants its folder")
    status, out, err = pipe("--audio-root", audio, "--data-dir", data, "-q", TARGET_SAMPLES=5, NUM_WORKERS=2)
    assert status == 2, err
    assert err[-1] == "run_pipeline.sh: step 3 (pregenerate_spectrograms_simple.py) failed with exit status 2"
    assert err[-2].startswith("error: ") and "spectrograms_balanced" in err[-2]
    assert (data / "augmented_pool" / "pool_metadata.json").is_file()
    assert (data / "balanced_audio_index.db").is_file()
    assert "all done" not in out and "train_audio_large_scale.py" not in out


def test_the_first_failing_step_is_the_last_one_run(pipe, tmp_path, make_audio_root):
    audio = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    data = tmp_path / "data"
    data.mkdir()
    (data / "augmented_pool").write_text("not a folder")
    status, out, err = pipe("--audio-root", audio, "--data-dir", data, "-q", TARGET_SAMPLES=5)
    assert status == 2
    assert err[-1] == "run_pipeline.sh: step 1 (create_augmented_pool.py) failed with exit status 2"
    assert "== step 2" not in out and not (data / "balanced_audio_index.db").exists()


def test_skipped_files_are_a_warning_the_pipeline_goes_on_and_the_end_repeats_it(pipe, tmp_path,
                                                                                  make_audio_root):
    audio = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    (audio / "owl" / "broken.wav").write_bytes(b"RIFF but not really a wave file")
    status, out, err = pipe("--audio-root", audio, "--data-dir", tmp_path / "data", "-q",
                            TARGET_SAMPLES=5, NUM_WORKERS=2)
    assert status == 1, err
    assert "run_pipeline.sh: warning: step 1 (create_augmented_pool.py) exited with status 1" in err[-1]
    assert "owl/broken.wav" in out
    assert "== all done" in out and "--num-classes 2" in out
    assert "exited with status 1: 1 file(s) skipped (unreadable or empty); going on" in err[-1]
    assert re.search(r"^warnings: [1-9]\d* \(step 1: \d+.*\)\n(  step \d: .+\n)*"
                     r"  step 1: exited with status 1: 1 file\(s\) skipped", out, re.M)
    assert len(list((tmp_path / "data" / "spectrograms_balanced").rglob("*.npy"))) == 10


def test_the_recap_lists_every_steps_warnings_grouped_with_the_true_reasons(pipe, tmp_path,
                                                                          make_audio_root):
    """A recording filed under two classes: step 2 exits 1 for it (not "skipped files"), its warnings
    (a class with no val or test samples) are in the recap, and 6 duplicates are one line."""
    import shutil

    audio = make_audio_root({"owl": 3, "bat": 1}, seconds=1.0)
    shutil.copy(audio / "owl" / "rec_000.wav", audio / "bat" / "from_owl.wav")
    for i in range(6):
        shutil.copy(audio / "owl" / "rec_001.wav", audio / "owl" / f"copy_{i}.wav")
    status, out, err = pipe("--audio-root", audio, "--data-dir", tmp_path / "data", "-q",
                            TARGET_SAMPLES=12, NUM_WORKERS=1)
    assert status == 1, out + "\n".join(err)
    said = [line for line in err if "exited with status 1" in line]
    assert len(said) == 2, "\n".join(err)  # steps 1 and 2; the report finds both copies in one split
    assert said[0].endswith("step 1 (create_augmented_pool.py) exited with status 1: "
                            "1 recording(s) filed under two classes or more; going on")
    assert said[1].endswith("step 2 (create_balanced_index.py) exited with status 1: "
                            "1 recording(s) filed under two classes or more; going on")
    recap = out[out.index("\nwarnings: "):]
    assert re.search(r"^warnings: \d+ \(step 1: \d+, step 2: \d+", recap, re.M)
    assert "  step 2: exited with status 1: 1 recording(s) filed under two classes or more" in recap
    assert re.search(r"^  step 2: class '\w+' has \d group\(s\), too few to fill every split", recap, re.M)
    copies = [line for line in recap.splitlines() if "the same recording as owl/" in line]
    assert len(copies) == 1 and copies[0].endswith("(and 5 more like it)"), recap


@pytest.mark.parametrize("status, verdict", [
    (3, "failed with exit status 3"),
    (130, "failed with exit status 130 (interrupted); rerun the same command to resume"),
    (2, "failed with exit status 2"),
])
def test_a_step_that_did_not_finish_stops_the_pipeline(pipe, tmp_path, monkeypatch, status, verdict):
    (tmp_path / "audio" / "owl").mkdir(parents=True)
    monkeypatch.setattr(create_augmented_pool, "main", lambda argv: status)
    got, out, err = pipe("--audio-root", "audio", "--data-dir", "data")
    assert got == status
    assert err[-1] == f"run_pipeline.sh: step 1 (create_augmented_pool.py) {verdict}"
    assert "== step 2" not in out


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


def test_demo_end_to_end_as_the_training_loader_reads_it(tmp_path, monkeypatch, capsys):
    """The reduced demo through the three steps, interrupted in step 3 and resumed, from another folder."""
    env = dict(TARGET_SAMPLES=20, DEMO_SCALE=0.1, NUM_WORKERS=2)
    data = tmp_path / "data"  # given relative to the caller's folder, tmp_path
    spectrograms = data / "spectrograms_balanced"
    interrupted = _interrupt_in_step_3(tmp_path, spectrograms, **env | {"NUM_WORKERS": 1})
    if interrupted.returncode != 0:  # else it finished before the signal: nothing to resume
        assert interrupted.returncode == 130, interrupted.stderr
        assert ("run_pipeline.sh: step 3 (pregenerate_spectrograms_simple.py) failed with exit status 130"
                in interrupted.stderr)

    monkeypatch.chdir(tmp_path)
    assert pipeline.main(["--demo", "--data-dir", "data", "-q"], env=_env(**env)) == 0
    stdout = capsys.readouterr().out
    assert "already there with this seed and scale" in stdout
    assert "already complete: nothing to do" in stdout
    _check_like_the_training_loader(data, per_class=20)
    expected_command = [
        "python train_audio_large_scale.py", f"--index-db {data}/balanced_audio_index.db",
        f"--audio-root {data}/augmented_pool", f"--spectrogram-cache-dir {spectrograms}",
        "--num-classes 6", "--model efficientnet-b1", "--batch-size 128", "--no-balance-classes",
        "--epochs 50"]
    command = stdout.split("train with", 1)[1]
    assert all(part in command for part in expected_command)
    assert not list(data.rglob("*.nightscan-tmp"))

    rows = _index_rows(data / "balanced_audio_index.db")
    assert pipeline.main(["--demo", "--data-dir", "data", "-q"], env=_env(**env)) == 0
    again = capsys.readouterr().out
    assert re.search(r"^all\s+0\s+120\s+0\s+120$", again, re.M), again  # step 3: all done
    assert _index_rows(data / "balanced_audio_index.db") == rows


def _index_rows(index: Path) -> list[tuple]:
    with sqlite3.connect(index) as con:
        return con.execute("SELECT * FROM audio_samples ORDER BY file_path").fetchall()


# ---------------------------------------------------------------- a changed audio root


def test_a_rerun_on_a_grown_root_runs_through_and_keeps_the_splits(pipe, tmp_path, make_audio_root):
    audio = make_audio_root({"owl": 6, "bat": 8}, seconds=0.3)
    args = ("--audio-root", audio, "--data-dir", "data", "--target-samples", "10", "--num-workers", "1", "-q")
    assert pipe(*args)[0] == 0
    index = tmp_path / "data" / "balanced_audio_index.db"
    with sqlite3.connect(index) as con:
        before = dict(con.execute("SELECT file_path, split FROM audio_samples"))
    for i in (6, 7):
        (audio / "owl" / f"rec_{i - 6:03d}.wav").rename(audio / "owl" / f"moved_{i}.wav")
    (audio / "bat" / "rec_000.wav").unlink()
    status, out, err = pipe(*args, "--keep-splits")
    assert status == 0, err
    assert "originals 2 added, 3 removed, 0 changed" in out
    # the two renamed recordings are found by content and keep their split: only bat's is gone
    assert re.search(r"splits kept from .*: groups 0 added, 1 removed, \d+ kept, 0 moved", out)
    assert len(re.findall(r"found by content under a new name, split kept: owl/rec_00[01]_original\.wav -> "
                          r"owl/moved_[67]_original\.wav", out)) == 2
    with sqlite3.connect(index) as con:
        after = dict(con.execute("SELECT file_path, split FROM audio_samples"))
    assert all(after[fp] == split for fp, split in before.items() if fp in after)
    spectrograms = tmp_path / "data" / "spectrograms_balanced"
    held = {p.relative_to(spectrograms).with_suffix("").as_posix() for p in spectrograms.rglob("*.npy")}
    assert held == {f"{split}/{Path(fp).parent}/{Path(fp).stem}" for fp, split in after.items()}


def test_the_recap_remarks_on_a_one_class_data_set(tmp_path):
    from spectrogram_helpers import write_index

    one = write_index(tmp_path / "i.db", [("owl/a.wav", "owl", "train")])
    paths = {"audio": tmp_path / "a", "pool": tmp_path / "p", "spectrograms": tmp_path / "s",
             "report": tmp_path / "r", "index": one}
    text = pipeline.closing([], paths, 1.0)
    assert "--num-classes 1" in text and pipeline.ONE_CLASS in text
    two = write_index(tmp_path / "j.db", [("owl/a.wav", "owl", "train"), ("bat/b.wav", "bat", "train")])
    assert pipeline.ONE_CLASS not in pipeline.closing([], paths | {"index": two}, 1.0)
