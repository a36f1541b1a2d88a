"""The packed layout: rows in key order, the tree's bytes, resumable, refused while unfinished."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from store_helpers import SPEC, catalog, files, fill, make_jobs, npy_bytes, tree_bytes

from nightscan_common.errors import UnfinishedLayoutError
from nightscan_common.formats import packed_store
from nightscan_common.formats.packed_store import CSV_COLUMNS, PackedStore, array_path, csv_path

COUNTS = {"owl": 5, "bat": 4}


def _store(out, jobs):
    return PackedStore(out, spec=SPEC, catalog=catalog(jobs))


def _rows(out, split="train") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(csv_path(out, split).read_text(encoding="utf-8"))))


def _row_bytes(out, split="train") -> list[bytes]:
    """Each row's bytes, as a tree file would hold them (header + data)."""
    return [npy_bytes(np.array(row)) for row in np.load(array_path(out, split), mmap_mode="r")]


def test_rows_hold_the_tree_bytes_in_key_order_with_their_labels(tmp_path):
    jobs = make_jobs(COUNTS)
    fill(_store(tmp_path, jobs), jobs, workers=2)
    expected = tree_bytes(jobs)
    rows = _rows(tmp_path)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["row"] for r in rows] == [str(i) for i in range(9)]
    keys = [f"train/{r['class_name']}/{r['file_path'].split('/')[1][:-4]}" for r in rows]
    assert keys == sorted(expected)
    assert _row_bytes(tmp_path) == [expected[k] for k in keys]
    assert {(r["class_name"], r["class_index"]) for r in rows} == {("bat", "0"), ("owl", "1")}
    assert rows[0]["group_key"] == "bat/g0" and rows[0]["is_augmented"] in ("0", "1")
    loaded = np.load(array_path(tmp_path, "train"), mmap_mode="r")
    assert loaded.shape == (9, *SPEC.shape) and loaded.dtype == np.float16
    assert sorted(p.name for p in (tmp_path / "packed").iterdir()) == [
        ".spectrogram_sources.jsonl", ".train.rows.npy", "train.csv", "train.npy"]


def test_an_interrupted_build_resumes_to_the_same_bytes_and_is_refused_meanwhile(tmp_path):
    jobs = make_jobs(COUNTS)
    fill(_store(tmp_path / "whole", jobs), jobs)
    fill(_store(tmp_path / "cut", jobs), jobs, stop_after=4)
    with pytest.raises(UnfinishedLayoutError, match="unfinished"):
        packed_store.check_finished(tmp_path / "cut", "train")
    journal = tmp_path / "cut" / "packed" / ".train.journal"
    journal.write_bytes(journal.read_bytes() + b"1")  # killed while writing a line
    again = _store(tmp_path / "cut", jobs)
    assert fill(again, jobs) == 5  # only what was not journaled
    assert files(tmp_path / "cut") == files(tmp_path / "whole")
    rerun = _store(tmp_path / "cut", jobs)
    assert fill(rerun, jobs) == 0 and files(tmp_path / "cut") == files(tmp_path / "whole")


def test_failed_rows_are_left_out_and_a_rerun_fills_them_in(tmp_path):
    jobs = make_jobs(COUNTS)
    bad = {"owl/owl rec.02.wav", "bat/bat rec.00.wav"}
    fill(_store(tmp_path / "out", jobs), jobs, fail=bad)
    expected = tree_bytes(jobs, fail=bad)
    assert [r["file_path"] for r in _rows(tmp_path / "out")] == [k.split("/", 1)[1] + ".wav"
                                                                 for k in sorted(expected)]
    assert _row_bytes(tmp_path / "out") == [expected[k] for k in sorted(expected)]
    assert fill(_store(tmp_path / "out", jobs), jobs) == 2  # the others are copied, not recomputed
    fill(_store(tmp_path / "whole", jobs), jobs)
    assert files(tmp_path / "out") == files(tmp_path / "whole")


def test_a_row_of_another_shape_is_refused_by_the_writer(tmp_path):
    jobs = make_jobs({"owl": 1})
    store = _store(tmp_path, jobs)
    store.prepare(jobs, overwrite=False)
    with pytest.raises(ValueError, match=r"does not fit the layout's \(3, 5, 7\) float16"):
        store.writer().put(jobs[0], np.zeros((3, 5, 7), np.float32))
