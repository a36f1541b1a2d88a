"""The WebDataset layout: deterministic shards of the tree's bytes, written whole, resumable."""

from __future__ import annotations

import io
import json
import tarfile

import pytest
import webdataset as wds
from store_helpers import SPEC, array_of, catalog, files, fill, make_jobs, tree_bytes

from nightscan_common.errors import UnfinishedLayoutError
from nightscan_common.formats import webdataset_store
from nightscan_common.formats.webdataset_store import (
    WebDatasetStore,
    journal_path,
    shard_paths,
)

COUNTS = {"owl": 5, "bat": 3}


def _store(out, jobs, shard_size=3):
    return WebDatasetStore(out, spec=SPEC, catalog=catalog(jobs), shard_size=shard_size)


def _members(out, split="train") -> list[tuple[str, bytes]]:
    found = []
    for path in shard_paths(out, split):
        with tarfile.open(path) as tar:
            found += [(m.name, tar.extractfile(m).read()) for m in tar]
    return found


def test_shards_hold_the_tree_bytes_in_key_order_with_their_labels(tmp_path):
    jobs = make_jobs(COUNTS)
    fill(_store(tmp_path, jobs), jobs, workers=2)
    assert [p.name for p in shard_paths(tmp_path, "train")] == [
        "train-000000.tar", "train-000001.tar", "train-000002.tar"]
    members = _members(tmp_path)
    assert [name for name, _ in members][:4] == ["000000000.json", "000000000.npy",
                                                 "000000001.json", "000000001.npy"]
    expected = tree_bytes(jobs)
    arrays = [data for name, data in members if name.endswith(".npy")]
    assert arrays == [expected[k] for k in sorted(expected)]
    meta = [json.loads(data) for name, data in members if name.endswith(".json")]
    assert [m["source"] for m in meta] == [k.split("/", 1)[1] + ".wav" for k in sorted(expected)]
    assert {(m["class"], m["class_index"]) for m in meta} == {("bat", 0), ("owl", 1)}
    assert meta[0]["group"] == "bat/g0"
    with tarfile.open(shard_paths(tmp_path, "train")[0]) as tar:
        assert {(m.mtime, m.uid, m.gid, m.mode, m.uname) for m in tar} == {(0, 0, 0, 0o644, "")}
    listed = sorted(p.name for p in (tmp_path / "shards").iterdir())
    assert listed == [".spectrogram_sources.jsonl", ".train.rows.npy",
                      *(p.name for p in shard_paths(tmp_path, "train"))]


def test_a_shard_is_the_very_tar_that_tarfile_writes(tmp_path):
    jobs = make_jobs(COUNTS)
    fill(_store(tmp_path, jobs), jobs)
    for path in shard_paths(tmp_path, "train"):
        with tarfile.open(path) as tar:
            members = [(m.name, tar.extractfile(m).read()) for m in tar]
        again = tmp_path / "again.tar"
        with tarfile.open(again, "w", format=tarfile.USTAR_FORMAT) as tar:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size, info.mtime, info.mode, info.uid, info.gid = len(data), 0, 0o644, 0, 0
                info.uname = info.gname = ""
                tar.addfile(info, io.BytesIO(data))
        assert again.read_bytes() == path.read_bytes()


def test_the_webdataset_package_reads_the_shards(tmp_path):
    jobs = make_jobs(COUNTS)
    fill(_store(tmp_path, jobs), jobs)
    urls = [str(p) for p in shard_paths(tmp_path, "train")]
    samples = list(wds.WebDataset(urls, shardshuffle=False, empty_check=False).decode())
    expected = tree_bytes(jobs)
    assert [s["__key__"] for s in samples] == [f"{i:09d}" for i in range(8)]
    for sample, key in zip(samples, sorted(expected), strict=True):
        assert sample["npy"].tobytes() == array_of(key).tobytes()
        assert sample["json"]["class_index"] == {"bat": 0, "owl": 1}[key.split("/")[1]]


def test_an_interrupted_build_keeps_whole_shards_and_resumes_to_the_same_bytes(tmp_path):
    jobs = make_jobs(COUNTS)
    fill(_store(tmp_path / "whole", jobs), jobs)
    fill(_store(tmp_path / "cut", jobs), jobs, stop_after=4)
    assert [p.name for p in shard_paths(tmp_path / "cut", "train")] == ["train-000000.tar"]
    assert [p.name for p in shard_paths(tmp_path / "cut", "train", partial=True)] == [
        ".train-000001.tar.partial", ".train-000002.tar.partial"]
    assert journal_path(tmp_path / "cut", "train").read_text().count("\n") == 1 + 4
    with pytest.raises(UnfinishedLayoutError, match="unfinished"):
        webdataset_store.check_finished(tmp_path / "cut", "train")
    assert fill(_store(tmp_path / "cut", jobs), jobs) == 4
    assert files(tmp_path / "cut") == files(tmp_path / "whole")
    assert fill(_store(tmp_path / "cut", jobs), jobs) == 0
    assert files(tmp_path / "cut") == files(tmp_path / "whole")


def test_failed_samples_are_left_out_and_a_rerun_fills_them_in(tmp_path):
    jobs = make_jobs(COUNTS)
    bad = {"owl/owl rec.03.wav"}
    fill(_store(tmp_path / "out", jobs), jobs, fail=bad)
    names = [name for name, _ in _members(tmp_path / "out") if name.endswith(".npy")]
    assert names == [f"{i:09d}.npy" for i in range(8) if i != 6]
    assert fill(_store(tmp_path / "out", jobs), jobs) == 1
    fill(_store(tmp_path / "whole", jobs), jobs)
    assert files(tmp_path / "out") == files(tmp_path / "whole")
