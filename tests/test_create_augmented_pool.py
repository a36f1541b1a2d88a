"""The step-1 front end: options, messages, exit statuses, interruptions."""

from __future__ import annotations

import signal

import pytest
from cli_helpers import interrupt_when, run_script, start_script, temporaries
from pool_helpers import metadata, run_pool, tree_digest, without_timestamps

import create_augmented_pool as front
from nightscan_common.formats.step_outcome import OUTCOME_FILENAME
from nightscan_common.steps.pool import JOURNAL_FILENAME, PoolOptions

SCRIPT = "create_augmented_pool.py"


def test_cli_defaults_are_the_options_defaults():
    args = front.build_parser().parse_args(["--audio-root", "x"])
    assert front.options_from_args(args) == PoolOptions()


def test_help_shows_example_rule_and_ranges():
    res = run_script(SCRIPT, "--help")
    assert res.returncode == 0
    for text in ("--audio-root", "example:", "40 recordings -> 11 or 12", "Gain, -6 to 0 dB",
                 "TimeStretch, rate 0.8 to 1.25", "background_noise"):
        assert text in res.stdout


def test_dry_run_prints_the_plan_and_writes_nothing(make_audio_root, tmp_path, capsys):
    root = make_audio_root({"owl": 7, "rain": 150}, seconds=0.2, samplerate=8000)
    out = tmp_path / "pool"
    status = front.main(["--audio-root", str(root), "--output-dir", str(out), "--target-samples", "60",
                         "--dry-run", "-q"])
    text = capsys.readouterr().out
    assert status == 0 and not out.exists()
    assert "plan (nothing written)" in text
    assert [line.split() for line in text.splitlines() if line.startswith(("owl", "rain"))] == [
        ["owl", "7", "7", "7-8", "60", "ok"], ["rain", "150", "60", "0", "60", "ok"]]


def test_short_class_is_reported_in_the_summary(make_audio_root, tmp_path, capsys):
    root = make_audio_root({"owl": 7}, seconds=0.2, samplerate=8000)
    status = front.main(["--audio-root", str(root), "--output-dir", str(tmp_path / "pool"),
                         "--target-samples", "60", "--max-augmentations", "2", "-q"])
    assert status == 0
    assert "short by 39" in capsys.readouterr().out


def _one_error_line(res) -> str:
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(("error:", "usage:")) or \
        lines[-1].startswith(f"{SCRIPT}: error:"), res.stderr
    assert "Traceback" not in res.stderr
    return lines[-1]


@pytest.mark.parametrize(("args", "message"), [
    (["--output-dir", "{root}/pool"], "inside the audio root"),
    (["--augmentations", "time_stretch,echo"], "unknown augmentation 'echo'"),
    (["--augmentations", "background_noise"], "NAME or --background-noise-dir"),
    (["--target-samples", "0"], "must be at least 1"),
    (["--specific-class", "heron"], "'heron' is not a folder"),
])
def test_bad_usage_exits_2_with_one_line(make_audio_root, tmp_path, args, message):
    root = make_audio_root({"owl": 2}, seconds=0.2, samplerate=8000)
    args = [a.format(root=root) for a in args]
    if "--output-dir" not in args:
        args += ["--output-dir", str(tmp_path / "pool")]
    res = run_script(SCRIPT, "--audio-root", root, *args)
    assert res.returncode == 2
    assert message in _one_error_line(res)


def test_missing_root_exits_2(tmp_path):
    res = run_script(SCRIPT, "--audio-root", tmp_path / "nope", "--output-dir", tmp_path / "pool")
    assert res.returncode == 2 and "audio root not found" in _one_error_line(res)


def test_bad_file_exits_1_and_is_named(make_audio_root, tmp_path):
    root = make_audio_root({"owl": 3}, seconds=0.2, samplerate=8000)
    (root / "owl" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    res = run_script(SCRIPT, "--audio-root", root, "--output-dir", tmp_path / "pool",
                     "--target-samples", "6", "-q")
    assert res.returncode == 1
    assert "skipped: owl/broken.wav: " in res.stdout


def _slow_root(make_audio_root):
    return make_audio_root({"owl": 6, "bat": 6}, seconds=2.0, samplerate=22050)


@pytest.mark.parametrize("when", [2, 8])
def test_sigkill_then_rerun_matches_an_uninterrupted_run(make_audio_root, tmp_path, when):
    root = _slow_root(make_audio_root)
    ref, out = tmp_path / "ref", tmp_path / "pool"
    run_pool(root, ref, target_samples=60)
    args = ["--audio-root", root, "--output-dir", out, "--target-samples", "60", "--num-workers", "1",
            "-q"]
    journal = out / JOURNAL_FILENAME

    def progressed() -> bool:
        return journal.exists() and journal.read_text().count("\n") > when

    assert interrupt_when(start_script(SCRIPT, *args), progressed), "finished before the kill"
    assert not (out / "pool_metadata.json").exists()
    res = run_script(SCRIPT, *args)
    assert res.returncode == 0, res.stderr
    assert temporaries(out) == [] and not journal.exists()
    skip = ("pool_metadata.json", OUTCOME_FILENAME)  # the script's record of its run; ref is a library run
    assert tree_digest(out, skip=skip) == tree_digest(ref, skip=skip)
    assert without_timestamps(metadata(out)) == without_timestamps(metadata(ref))


def test_ctrl_c_stops_with_status_130_and_resumes(make_audio_root, tmp_path):
    root = _slow_root(make_audio_root)
    out = tmp_path / "pool"
    args = ["--audio-root", root, "--output-dir", out, "--target-samples", "60", "--num-workers", "2"]
    journal = out / JOURNAL_FILENAME
    proc = start_script(SCRIPT, *args)
    assert interrupt_when(proc, lambda: journal.exists() and journal.read_text().count("\n") > 2,
                          sig=signal.SIGINT)
    assert proc.returncode == 130
    stderr = proc.stderr.read()
    assert "interrupted" in stderr and "Traceback" not in stderr
    res = run_script(SCRIPT, *args, "-q")
    assert res.returncode == 0 and temporaries(out) == []
    assert metadata(out)["totals"]["files"] == 120
