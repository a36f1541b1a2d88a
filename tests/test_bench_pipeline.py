"""The pipeline bench's comparison with NightScan's three scripts: skipped, run, or failed, it says so.

NightScan's scripts need torch; here a stand-in folder takes their place: three tiny scripts with
their names and options (argparse rejects any other) that write a few files, and empty ``torch``
and ``torchaudio`` modules beside them, which the bench's import check, run from that folder, finds.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import bench_pipeline  # noqa: E402

SMALL = ["--classes", "2", "--recordings", "3", "--target", "4", "--workers", "2"]
OURS = re.compile(r"wall +[\d.]+ s  CPU +[\d.]+ s .* pool 8 audio files, 8 \.npy")

STEP_1 = """
import argparse, spectrogram_config
p = argparse.ArgumentParser()
for name in ("--audio-root", "--output-dir", "--target-samples", "--workers"):
    p.add_argument(name, required=True)
p.add_argument("--save-detailed-metadata", action="store_true")
a = p.parse_args()
from pathlib import Path
for cls in sorted(Path(a.audio_root).iterdir()):
    for i in range(int(a.target_samples)):
        (Path(a.output_dir) / cls.name).mkdir(parents=True, exist_ok=True)
        (Path(a.output_dir) / cls.name / f"clip_{i}.wav").write_bytes(b"RIFF")
"""
STEP_2 = """
import argparse, spectrogram_config
p = argparse.ArgumentParser()
for name in ("--pool-dir", "--output-db"):
    p.add_argument(name, required=True)
a = p.parse_args()
open(a.output_db, "w").write("index")
"""
STEP_3 = """
import argparse, spectrogram_config
p = argparse.ArgumentParser()
for name in ("--index-db", "--pool-root", "--output-dir", "--num-workers"):
    p.add_argument(name, required=True)
a = p.parse_args()
from pathlib import Path
for wav in Path(a.pool_root).rglob("*.wav"):
    out = Path(a.output_dir) / "train" / wav.parent.name / (wav.stem + ".npy")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(b"npy")
"""


def fake_nightscan(folder: Path, step_2: str = STEP_2) -> Path:
    """A folder laid out like NightScan's audio_training_efficientnet/, importable without torch."""
    folder.mkdir()
    for name, text in {"create_augmented_pool.py": STEP_1, "create_balanced_index.py": step_2,
                       "pregenerate_spectrograms_simple.py": STEP_3, "spectrogram_config.py": "",
                       "torch.py": "", "torchaudio.py": ""}.items():
        (folder / name).write_text(text)
    return folder


def compare_with(folder: Path) -> int:
    """The bench's status, with the stand-in folder run by this interpreter."""
    return bench_pipeline.main([*SMALL, "--nightscan", str(folder), "--nightscan-python", sys.executable])


@pytest.fixture(autouse=True)
def no_nightscan_env(monkeypatch):
    monkeypatch.delenv("NIGHTSCAN_SCRIPTS", raising=False)
    monkeypatch.delenv("NIGHTSCAN_PYTHON", raising=False)


def test_missing_folder_skips_the_comparison_and_still_reports_ours(tmp_path, capsys):
    assert bench_pipeline.main([*SMALL, "--nightscan", str(tmp_path / "absent")]) == 0
    out = capsys.readouterr().out
    assert OURS.search(out)
    skip = [line for line in out.splitlines() if line.startswith("NightScan comparison skipped:")]
    assert len(skip) == 1 and "lacks create_augmented_pool.py" in skip[0] and "--nightscan-python" in skip[0]
    assert "ratio" not in out


def test_their_three_steps_run_beside_ours_and_give_the_ratios(tmp_path, capsys):
    folder = fake_nightscan(tmp_path / "audio_training_efficientnet")
    assert compare_with(folder) == 0
    out = capsys.readouterr().out
    assert OURS.search(out)
    for step in bench_pipeline.THEIR_STEPS:
        assert re.search(rf"{step} +wall +[\d.]+ s  CPU +[\d.]+ s", out), step
    assert re.search(r"total +wall .* pool 8 audio files, 8 \.npy", out)
    assert re.search(r"^ratio wall \d+\.\d{3} \(aim <= 0\.1\): (yes|no)$", out, re.M)
    assert re.search(r"^ratio CPU \d+\.\d{3}$", out, re.M)


def test_a_failing_step_of_theirs_fails_the_comparison_with_its_stderr(tmp_path, capsys):
    folder = fake_nightscan(tmp_path / "audio_training_efficientnet",
                            step_2="import sys; sys.exit(\"KeyError: 'files'\")")
    assert compare_with(folder) == 1
    out = capsys.readouterr().out
    assert OURS.search(out)
    assert "NightScan comparison failed: create_balanced_index.py failed (1):" in out
    assert "KeyError: 'files'" in out and "ratio" not in out


def test_an_interpreter_without_torch_is_a_reason_to_skip(tmp_path):
    folder = fake_nightscan(tmp_path / "audio_training_efficientnet")
    (folder / "torch.py").write_text("raise ImportError('no torch here')")  # shadows any real torch
    why = bench_pipeline.nightscan_problem(folder, sys.executable)
    assert why is not None and "cannot import torch and torchaudio" in why
    assert bench_pipeline.nightscan_problem(None, sys.executable) == "no NightScan folder given"
