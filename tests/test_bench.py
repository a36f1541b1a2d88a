"""The pipeline benchmark still runs and reports every figure (no timing is asserted)."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import run_bench  # noqa: E402

RUNS = ["step 1", "step 1 bare work", "step 1, 1 worker", "step 1, few files", "step 1, many files",
        "step 2", "step 3", "step 3, 1 worker", "step 3, few files", "step 3 plain librosa",
        "step 3 bare work"]
COMPARISONS = ["step 1 / its bare work", "step 3 / its bare work", "plain librosa loop / step 3",
               "step 1: 1 worker / 2 workers", "step 3: 1 worker / 2 workers",
               "step 1 worker memory", "step 3 worker memory", "largest parent peak",
               "spectrogram tree / 3-channel float32 tree"]


def test_bench_on_a_tiny_data_set_reports_every_figure(tmp_path, capsys):
    """The same files and runs as a real bench, with 1 s recordings instead of 8 s."""
    assert run_bench.main(["--scale", "0.01", "--target", "6", "--workers", "2", "--dir", str(tmp_path),
                           "--clip-seconds", "1", "--json", str(tmp_path / "figures.json")]) == 0
    report = capsys.readouterr().out
    table = {line[:24].strip(): line[24:].split() for line in report.splitlines()}
    for run in RUNS:
        assert run in table, run
        wall, _cpu, _sys, files, per_s, *_ = table[run]
        assert float(wall) > 0 and int(files) > 0 and float(per_s) > 0
    for text in COMPARISONS:
        line = next(line for line in report.splitlines() if text in line)
        assert "(bar:" in line
    assert (tmp_path / "figures.json").stat().st_size > 0
