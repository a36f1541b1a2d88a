"""The training-layout benchmark still runs and reports every figure (no timing is asserted)."""

from __future__ import annotations

import json
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import bench_dataset  # noqa: E402


def test_the_dataset_bench_on_tiny_sizes_reports_every_figure(tmp_path, capsys):
    assert bench_dataset.main(["--small", "--workers", "2", "--dir", str(tmp_path / "work"),
                               "--json", str(tmp_path / "figures.json")]) == 0
    report = capsys.readouterr().out
    for text in ("np.load per file", "reader, packed, random", "reader, webdataset, in order",
                 "webdataset package, in order", "OFFSET per item", "rowid per item", "ratio to tree"):
        assert text in report, text
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert len(figures["reads"]) == 7 and all(rate > 0 for rate in figures["reads"].values())
    assert figures["lookups"]["reader ms/item"] > 0 and figures["lookups"]["NightScan ms/item"] > 0
    assert set(figures["builds"]) == {"tree", "packed", "webdataset"}
    assert all(b["bytes"] > 0 and b["wall"] > 0 for b in figures["builds"].values())
