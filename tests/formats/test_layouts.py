"""Step 3 in every layout: the tree's bytes, the same for 1 and 2 workers, after a SIGKILL and a rerun."""

from __future__ import annotations

import csv
import io
import json
import signal
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
from fault_helpers import final_files, interrupt, start_paused, wait_for_pause, wait_until_gone
from spectrogram_helpers import write_index

import pregenerate_spectrograms_simple as front
from nightscan_common.dataset import SpectrogramDataset
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.errors import UnfinishedLayoutError
from nightscan_common.formats.labels import read_labels
from nightscan_common.formats.layouts import LAYOUTS
from nightscan_common.formats.packed_store import array_path, csv_path
from nightscan_common.formats.spectrogram_store import SourceManifest
from nightscan_common.formats.webdataset_store import shard_paths

SCRIPT = "pregenerate_spectrograms_simple.py"
#: owl 5 (train 4, val 1), bat 4 (train 3, test 1), rain 3 (train): val and test lack classes.
ROWS = ([(f"owl/hoot {i}_original.wav", "owl", "train" if i < 4 else "val") for i in range(5)]
        + [(f"bat/sweep.{i}_original.wav", "bat", "train" if i < 3 else "test") for i in range(4)]
        + [(f"rain/drops_{i}_aug001_noise.wav", "rain", "train") for i in range(3)])
#: Where each layout's run is stopped: the 4th row written (in a worker), or the second shard
#: put in place (in the parent; shards of 3).
PAUSES = {"tree": ("nightscan_common.formats.tree_store:TreeWriter.put", 4),
          "packed": ("nightscan_common.formats.slots:SlotWriter.put", 4),
          "webdataset": ("nightscan_common.formats.webdataset_store:WebDatasetStore._put_in_place", 2)}


def _inputs(base: Path) -> tuple[Path, Path]:
    pool = base / "pool"
    for i, (file_path, _, _) in enumerate(ROWS):
        write_recording(pool / file_path, seed=i, seconds=0.3, samplerate=8000)
    return pool, write_index(base / "index.db", ROWS)


def _args(db, pool, out, layout, workers=2) -> list[str]:
    return [str(a) for a in ("--index-db", db, "--pool-root", pool, "--output-dir", out, "--num-workers",
                             workers, "-q", "--layout", layout, "--shard-size", 3)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path, Path]:
    """``(pool, index, base)``, with ``base/<layout>`` built by an uninterrupted 2-worker run."""
    base = tmp_path_factory.mktemp("layouts")
    pool, db = _inputs(base)
    for layout in LAYOUTS:
        assert front.main(_args(db, pool, base / layout, layout)) == 0
    return pool, db, base


def _packed_rows(out: Path, split: str) -> list[tuple[str, bytes, int]]:
    """(tree key of the row, the row as a tree file's bytes, class_index) for each row."""
    table = list(csv.DictReader(io.StringIO(csv_path(out, split).read_text(encoding="utf-8"))))
    found = []
    for row, array in zip(table, np.load(array_path(out, split), mmap_mode="r"), strict=True):
        buffer = io.BytesIO()
        np.save(buffer, np.array(array))
        key = f"{split}/{row['class_name']}/{Path(row['file_path']).stem}.npy"
        found.append((key, buffer.getvalue(), int(row["class_index"])))
    return found


def _shard_rows(out: Path, split: str) -> list[tuple[str, bytes, int]]:
    found = []
    for path in shard_paths(out, split):
        with tarfile.open(path) as tar:
            members = {m.name: tar.extractfile(m).read() for m in tar}
        for name in sorted(n for n in members if n.endswith(".npy")):
            meta = json.loads(members[name[:-4] + ".json"])
            key = f"{split}/{meta['class']}/{Path(meta['source']).stem}.npy"
            found.append((key, members[name], meta["class_index"]))
    return found


def test_packed_and_webdataset_hold_the_tree_bytes_with_the_global_labels(built):
    _, _, base = built
    tree = {k: v for k, v in final_files(base / "tree").items() if k.endswith(".npy")}
    labels = read_labels(base / "tree")
    assert labels == {"bat": 0, "owl": 1, "rain": 2}
    for split, count in (("train", 10), ("val", 1), ("test", 1)):
        tree_rows = sorted((k, (base / "tree" / k).read_bytes(), labels[k.split("/")[1]])
                           for k in tree if k.startswith(split + "/"))
        assert len(tree_rows) == count
        assert _packed_rows(base / "packed", split) == tree_rows
        assert _shard_rows(base / "webdataset", split) == tree_rows
    assert len({(base / layout / "labels.json").read_bytes() for layout in LAYOUTS}) == 1
    assert [p.name for p in shard_paths(base / "webdataset", "train")] == [
        f"train-{i:06d}.tar" for i in range(4)]


@pytest.mark.parametrize("layout", ["packed", "webdataset"])
def test_one_worker_writes_the_bytes_of_two(built, tmp_path, layout):
    pool, db, base = built
    assert front.main(_args(db, pool, tmp_path / "one", layout, workers=1)) == 0
    assert final_files(tmp_path / "one") == final_files(base / layout)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_run_killed_mid_way_then_rerun_gives_the_bytes_of_an_uninterrupted_one(built, tmp_path,
                                                                                   capsys, layout):
    pool, db, base = built
    out = tmp_path / "out"
    pause, nth = PAUSES[layout]
    proc, marker = start_paused(tmp_path, SCRIPT, _args(db, pool, out, layout), pause=pause, nth=nth,
                                after=True)
    wait_for_pause(proc, marker)
    assert _wait_for(lambda: _kept(out, layout) >= 3), "the run kept nothing before its pause"
    interrupt(proc, signal.SIGKILL)
    assert wait_until_gone(proc.pid) == [], "worker processes outlived the run"
    kept = _kept(out, layout)
    if layout != "tree":
        with pytest.raises(UnfinishedLayoutError, match="unfinished"):
            SpectrogramDataset(out, "train", layout=layout)
    capsys.readouterr()
    assert front.main(_args(db, pool, out, layout)) == 0
    written, skipped, failed, total = _totals(capsys.readouterr().out)
    assert (skipped, written, failed, total) == (kept, 12 - kept, 0, 12)
    assert final_files(out) == final_files(base / layout)


def _kept(out: Path, layout: str) -> int:
    """Rows a killed run left done: tree files it recorded the source of, or journaled slots."""
    if layout == "tree":
        return len(SourceManifest(out).load())
    folder = out / ("packed" if layout == "packed" else "shards")
    return sum(j.read_text().count("\n") - 1 for j in folder.glob(".*.journal"))


def _wait_for(condition, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _totals(summary: str) -> list[int]:
    """written, skipped, failed, total of the summary's ``all`` line."""
    line = next(line for line in summary.splitlines() if line.startswith("all "))
    return [int(v) for v in line.split()[1:]]


def test_a_rerun_of_a_finished_build_changes_nothing(built, capsys):
    pool, db, base = built
    for layout in ("packed", "webdataset"):
        before = final_files(base / layout)
        capsys.readouterr()
        assert front.main(_args(db, pool, base / layout, layout)) == 0
        assert _totals(capsys.readouterr().out) == [0, 12, 0, 12]
        assert final_files(base / layout) == before


def test_a_file_that_fails_is_left_out_of_the_packed_rows_and_listed(tmp_path, capsys):
    pool, db = _inputs(tmp_path)
    (pool / "owl" / "hoot 2_original.wav").write_bytes(b"not audio")
    out = tmp_path / "out"
    assert front.main(_args(db, pool, out, "packed")) == 1
    rows = [key for key, _, _ in _packed_rows(out, "train")]
    assert len(rows) == 9 and "train/owl/hoot 2_original.npy" not in rows
    assert [f["path"] for f in json.loads((out / "failures.json").read_text())] == ["owl/hoot 2_original.wav"]
    before = final_files(out)
    assert front.main(_args(db, pool, out, "packed")) == 1  # retried, failed again, nothing else changed
    assert final_files(out) == before


def test_the_shard_size_must_be_positive(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        front.main(["--index-db", "x.db", "--pool-root", ".", "--shard-size", "0"])
    assert exc.value.code == 2 and "--shard-size: must be at least 1, got 0" in capsys.readouterr().err
