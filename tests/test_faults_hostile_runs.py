"""Runs stopped or misled: SIGTERM and SIGHUP, a linked split folder, absurd settings, and
a full pipeline whose every JSON output must parse strictly.

A stop by SIGTERM or SIGHUP must look like Ctrl-C: exit 130, one line, the workers gone,
no temporary left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from cli_helpers import loading_numpy
from fault_helpers import (
    INTERRUPTED_LINE,
    LAUNCHER,
    ROOT,
    call_main,
    snapshot,
    start_paused,
    temporaries,
    wait_for_pause,
    wait_until_gone,
)
from spectrogram_helpers import small_pool

import pipeline
import pregenerate_spectrograms_simple as step3
from nightscan_common.dsp.animals import PRESETS
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.errors import ClusterStopped
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.execution.serial import SerialExecutor
from nightscan_common.formats.tree_store import TreeStore
from nightscan_common.steps.pool import run_pool
from nightscan_common.steps.pool_options import PoolOptions
from nightscan_common.steps.spectrograms import run_spectrograms

PAUSE_IN_WRITE = "pathlib:Path.write_bytes"  # a worker has written its temporary, not renamed it


def _audio(root: Path, classes: int = 2, per_class: int = 3) -> Path:
    for c in range(classes):
        for i in range(per_class):
            write_recording(root / f"class{c}" / f"rec_{i}.wav", seconds=0.3, samplerate=8000,
                            seed=10 * c + i)
    return root


def _stopped_cleanly(proc: subprocess.Popen, sig: int, out_dir: Path, *,
                     last_lines: tuple[str, ...] = (INTERRUPTED_LINE,)) -> None:
    os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert tuple(err.strip().splitlines()[-len(last_lines):]) == last_lines, err
    assert wait_until_gone(proc.pid) == []
    assert temporaries(out_dir) == []


@pytest.mark.parametrize("script", ["create_augmented_pool.py", "create_balanced_index.py",
                                    "pregenerate_spectrograms_simple.py", "make_report.py",
                                    "pipeline.py"])
def test_a_sigterm_while_a_front_end_imports_is_exit_130_and_the_line(tmp_path, script, fault_ledger):
    # the pipeline's --help imports no step (nor numpy): a dry run imports them all to check them
    args = ["--audio-root", _audio(tmp_path / "audio", classes=1, per_class=1), "--data-dir",
            tmp_path / "data", "--dry-run"] if script == "pipeline.py" else ["--help"]
    proc = subprocess.Popen([sys.executable, str(ROOT / script), *map(str, args)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not loading_numpy(proc.pid) and proc.poll() is None:
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGTERM)  # the toolkit and librosa are still loading
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (130, INTERRUPTED_LINE + "\n")
    fault_ledger.interruptions[script] += 1


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_step_1_stops_on_sigterm_and_sighup_as_on_ctrl_c(tmp_path, sig, fault_ledger):
    root = _audio(tmp_path / "audio")
    pool = tmp_path / "pool"
    proc, marker = start_paused(tmp_path, "create_augmented_pool.py",
                                ["--audio-root", root, "--output-dir", pool, "--target-samples", "4",
                                 "--augmentations", "volume", "--num-workers", "2", "-q"],
                                pause=PAUSE_IN_WRITE, after=True)
    wait_for_pause(proc, marker)
    assert temporaries(pool)  # the paused worker's
    _stopped_cleanly(proc, sig, pool)
    fault_ledger.interruptions["step 1"] += 1


def test_step_3_stops_on_sigterm_as_on_ctrl_c(tmp_path, fault_ledger):
    pool, db, _ = small_pool(tmp_path)
    out = tmp_path / "spec"
    proc, marker = start_paused(tmp_path, "pregenerate_spectrograms_simple.py",
                                ["--index-db", db, "--pool-root", pool, "--output-dir", out,
                                 "--num-workers", "2", "-q"], pause=PAUSE_IN_WRITE, nth=2, after=True)
    wait_for_pause(proc, marker)
    _stopped_cleanly(proc, signal.SIGTERM, out)
    fault_ledger.interruptions["step 3"] += 1


SITECUSTOMIZE = """
import sys
sys.path[:0] = [{root!r}, {tests!r}]
import pathlib
from paused_step import _pausing
pathlib.Path.write_bytes = _pausing(pathlib.Path.write_bytes, {marker!r}, 1, True)
"""


def test_run_pipeline_sh_passes_sigterm_to_the_running_step_and_its_workers(tmp_path, fault_ledger):
    venv = os.environ.get("NIGHTSCAN_VENV") or sys.prefix
    if not (Path(venv) / ".requirements.sha256").exists():
        pytest.skip("no prepared virtual environment to run run_pipeline.sh with")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    marker = tmp_path / "paused"
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE.format(
        root=str(ROOT), tests=str(LAUNCHER.parent), marker=str(marker)))
    root = _audio(tmp_path / "audio")
    env = {**os.environ, "NIGHTSCAN_VENV": venv, "PYTHONPATH": str(hooks)}
    proc = subprocess.Popen([str(ROOT / "run_pipeline.sh"), "--audio-root", str(root), "--data-dir",
                             str(tmp_path / "data"), "--target-samples", "4", "--num-workers", "2", "-q"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    wait_for_pause(proc, marker)
    _stopped_cleanly(proc, signal.SIGTERM, tmp_path / "data", last_lines=(
        INTERRUPTED_LINE, "run_pipeline.sh: step 1 (create_augmented_pool.py) failed with exit status 130 "
        "(interrupted); rerun the same command to resume"))
    fault_ledger.interruptions["step 1"] += 1


def test_a_linked_split_folder_is_refused_and_its_files_kept(tmp_path, capsys, fault_ledger):
    pool, db, _ = small_pool(tmp_path)
    out = tmp_path / "spec"
    argv = ["--index-db", db, "--pool-root", pool, "--output-dir", out, "--num-workers", "1", "-q"]
    assert call_main(step3.main, argv, capsys)[0] == 0
    other = tmp_path / "other_train"
    (out / "train").rename(other)
    (out / "train").symlink_to(other)
    before = snapshot(other)
    for extra in ([], ["--overwrite"], ["--n-mels", "64", "--overwrite"]):
        status, _, err = call_main(step3.main, argv + extra, capsys)
        assert status == 2 and err.count("\n") == 1, err
        assert "train is a link to" in err
    assert snapshot(other) == before
    fault_ledger.bad_inputs["step 3"] += 1


@pytest.mark.parametrize("setting, size", [(["--duration", "1e12"], "2.205e+10 MB per file"),
                                           (["--hop-length", "1"], "128 x 176401 = 90.3173 MB per file")])
def test_absurd_settings_are_refused_with_the_size_they_would_produce(tmp_path, capsys, setting, size,
                                                                      fault_ledger):
    pool, db, _ = small_pool(tmp_path)
    status, _, err = call_main(step3.main, ["--index-db", db, "--pool-root", pool, "--output-dir",
                                            tmp_path / "spec", *setting], capsys)
    assert status == 2 and err.count("\n") == 1, err
    assert size in err
    assert not (tmp_path / "spec").exists()
    fault_ledger.bad_inputs["step 3"] += 1


def _strict(text: str):
    def refuse(name: str):
        raise ValueError(f"{name} is not strict JSON")

    return json.loads(text, parse_constant=refuse)


def test_every_json_of_a_full_pipeline_run_parses_strictly(tmp_path, monkeypatch, capsys):
    root = _audio(tmp_path / "audio", classes=2, per_class=3)
    signal_ = np.full(2400, 0.1, np.float32)
    signal_[7] = np.nan
    sf.write(root / "class0" / "nan.wav", signal_, 8000, subtype="FLOAT")
    monkeypatch.chdir(tmp_path)
    status = pipeline.main(["--audio-root", str(root), "--data-dir", str(tmp_path / "data"),
                            "--target-samples", "5", "--num-workers", "2", "-q"],
                           env={"STEP1_OPTIONS": "--augmentations volume,noise"})
    assert status == 1, capsys.readouterr().err
    written = sorted((tmp_path / "data").rglob("*.json"))
    assert {p.name for p in written} >= {"pool_metadata.json", "spectrogram_config.json"}
    for path in written:
        _strict(path.read_text(encoding="utf-8"))
    info = sqlite_info(tmp_path / "data" / "balanced_audio_index.db")
    _strict(info["ratios"])


def sqlite_info(db: Path) -> dict[str, str]:
    from nightscan_common.formats.index_db import read_index_info

    return read_index_info(db) or {}


def test_class_names_that_look_like_mathtext_are_drawn_as_text_in_the_report(tmp_path, monkeypatch, capsys):
    import matplotlib.text

    from nightscan_common.report import plots

    names = ["$\\foo$", "a$x^2$b", "owl"]  # legal folder names; the first is no formula matplotlib knows
    root = tmp_path / "audio"
    for c, name in enumerate(names):
        for i in range(3):
            write_recording(root / name / f"rec_{i}.wav", seconds=0.3, samplerate=8000, seed=10 * c + i)
    drawn: list[tuple[str, bool]] = []
    png = plots._png

    def shown(fig):  # what each text of each figure will show, and whether it is parsed as math
        for text in fig.findobj(matplotlib.text.Text):
            if "$" in text.get_text():
                drawn.append(text._preprocess_math(text.get_text()))
        return png(fig)

    monkeypatch.setattr(plots, "_png", shown)
    monkeypatch.chdir(tmp_path)
    status = pipeline.main(["--audio-root", str(root), "--data-dir", str(tmp_path / "data"),
                            "--target-samples", "4", "--num-workers", "1", "-q"],
                           env={"STEP1_OPTIONS": "--augmentations volume"})
    err = capsys.readouterr().err
    assert status == 0 and "Traceback" not in err, err
    assert (tmp_path / "data" / "report" / "report.html").is_file()
    assert set(drawn) == {("$\\foo$", False), ("a$x^2$b", False)}  # in each chart, verbatim


class _WritingElsewhere(SerialExecutor):
    """A worker whose files land on other storage: each item succeeds, its files vanish here."""

    def __init__(self, made) -> None:
        self.made = made

    def map(self, func, items, **kw):
        for outcome in super().map(func, items, **kw):
            for path in self.made(outcome):
                path.unlink()
            yield outcome


@pytest.mark.parametrize("step", ["pool", "spec"])
def test_a_file_reported_made_that_the_parent_cannot_see_stops_the_run(tmp_path, step):
    if step == "pool":
        out = tmp_path / "pool"
        made = lambda o: [out / o.item.task.class_name / r.filename for r in o.result  # noqa: E731
                          ] if o.ok and hasattr(o.item, "task") else []  # not the check's items
        run = partial(run_pool, _audio(tmp_path / "audio"), out, PoolOptions(target_samples=4))
    else:
        pool, db, _ = small_pool(tmp_path)
        out = tmp_path / "spec"
        made = lambda o: [TreeStore(out).path(o.item.key)] if o.ok else []  # noqa: E731
        run = partial(run_spectrograms, db, pool, out, PRESETS["general"])
    with pytest.raises(ClusterStopped, match=rf"^a worker reported {re.escape(str(out))}/\S+ "
                       rf"written, but it is not in {re.escape(str(out))}\S* here: "):
        run(executor=_WritingElsewhere(made), run=RunOptions(progress=False))
