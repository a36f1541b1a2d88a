"""The layout registry: a layout added in one file (tests/mirror_layout.py) is a --layout
choice, written by step 3, read by SpectrogramDataset and shown by the report."""

from __future__ import annotations

import json

import mirror_layout
import numpy as np
import pytest
from report_helpers import pipeline  # noqa: F401  (the session fixture)

import pregenerate_spectrograms_simple as front
from nightscan_common.dataset import SpectrogramDataset
from nightscan_common.errors import UsageError
from nightscan_common.formats.layout_registry import get_layout, register
from nightscan_common.formats.layouts import LAYOUTS, layout_names
from nightscan_common.report import build_report


def _step3(pipeline, out, layout: str) -> int:  # noqa: F811
    return front.main(["--index-db", str(pipeline.index), "--pool-root", str(pipeline.pool),
                       "--output-dir", str(out), "--layout", layout, "--num-workers", "1", "-q"])


def _items(dataset) -> list[tuple[bytes, int]]:
    return sorted((array.tobytes(), label) for array, label in (dataset[i] for i in range(len(dataset))))


def test_a_layout_in_one_file_is_written_read_and_shown(pipeline, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "out"
    with mirror_layout.registered():
        assert layout_names() == (*LAYOUTS, "mirror")
        assert _step3(pipeline, out, "mirror") == 0
        assert "mirror layout" in capsys.readouterr().out
        for split in ("train", "val", "test"):
            ours = SpectrogramDataset(out, split)
            assert ours.layout == "mirror"
            tree = SpectrogramDataset(pipeline.spectrograms, split, index_db=pipeline.index)
            assert len(ours) > 0 and _items(ours) == _items(tree)
        result = build_report(pipeline.pool, pipeline.index, out, tmp_path / "report")
    record = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))
    samples = [s for c in record["listen"]["classes"] for st in c["sets"] for s in [st["original"],
                                                                                   *st["augmentations"]]]
    assert len(samples) >= 6 and {s["spectrogram"] for s in samples} == {"step 3"}
    assert result.report.summary.steps[2].status == 0
    assert sorted(p.relative_to(out).parts[0] for p in out.rglob("*.npy")) == ["mirror"] * len(
        list(pipeline.spectrograms.rglob("*.npy")))


def test_an_unregistered_layout_is_no_choice(pipeline, tmp_path, capsys):  # noqa: F811
    with pytest.raises(SystemExit) as exc:
        _step3(pipeline, tmp_path / "out", "mirror")
    assert exc.value.code == 2 and "invalid choice: 'mirror'" in capsys.readouterr().err
    with pytest.raises(UsageError, match="unknown layout 'mirror'; expected one of tree, packed, webdataset"):
        get_layout("mirror")
    with mirror_layout.registered():
        front.build_parser().print_help()
        assert "mirror: the tree's files under mirror/<split>/<class>/" in " ".join(
            capsys.readouterr().out.split())
        with pytest.raises(ValueError, match="a layout named 'mirror' is already registered"):
            register(mirror_layout.Layout(**{**mirror_layout.LAYOUT.__dict__, "help": "another"}))


def test_every_built_in_layout_reads_back_what_it_wrote_by_key(pipeline, tmp_path):  # noqa: F811
    tree = SpectrogramDataset(pipeline.spectrograms, "train", index_db=pipeline.index)
    key = "train/" + next(p.relative_to(pipeline.spectrograms / "train").as_posix()[:-4]
                          for p in sorted((pipeline.spectrograms / "train").rglob("*.npy")))
    expected = np.load(pipeline.spectrograms / f"{key}.npy")
    for name in LAYOUTS:
        out = pipeline.spectrograms if name == "tree" else tmp_path / name
        if name != "tree":
            assert _step3(pipeline, out, name) == 0
        rows = get_layout(name).open_rows(out, "train", tree.labels, pipeline.index)
        assert np.array_equal(rows.read(key), expected), name
        assert rows.read("train/owl/no such file") is None
