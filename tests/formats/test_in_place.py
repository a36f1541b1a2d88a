"""What the stores built in place share: the same bytes for 1 and 2 workers, a journal that resumes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from store_helpers import SPEC, array_of, catalog, files, fill, make_jobs

from nightscan_common.formats.packed_store import PackedStore
from nightscan_common.formats.webdataset_store import WebDatasetStore

COUNTS = {"owl": 5, "bat": 4, "rain": 2}
STORES = {"packed": lambda out, jobs: PackedStore(out, spec=SPEC, catalog=catalog(jobs)),
          "webdataset": lambda out, jobs: WebDatasetStore(out, spec=SPEC, catalog=catalog(jobs),
                                                          shard_size=3)}


@pytest.mark.parametrize("layout", STORES)
def test_one_and_two_workers_write_the_same_bytes(tmp_path, layout):
    jobs = make_jobs(COUNTS)
    fill(STORES[layout](tmp_path / "one", jobs), jobs, workers=1)
    fill(STORES[layout](tmp_path / "two", jobs), jobs, workers=2)
    assert files(tmp_path / "one") == files(tmp_path / "two")


@pytest.mark.parametrize("layout", STORES)
def test_runs_stopped_twice_end_as_one_whole_run(tmp_path, layout):
    jobs = make_jobs(COUNTS)
    fill(STORES[layout](tmp_path / "whole", jobs), jobs)
    for _ in range(2):
        fill(STORES[layout](tmp_path / "cut", jobs), jobs, stop_after=3)
    store = STORES[layout](tmp_path / "cut", jobs)
    assert fill(store, jobs) == 11 - 6
    assert files(tmp_path / "cut") == files(tmp_path / "whole")
    assert store.remove_unlisted(("train",)) == 0 and store.holds_output() and store.bytes_on_disk() > 0


@pytest.mark.parametrize("layout", STORES)
@pytest.mark.parametrize("old, new, computed", [({"owl": 7}, {"owl": 4}, 0),
                                                ({"owl": 5}, {"owl": 3, "bat": 2}, 2)])
def test_a_changed_index_ends_as_a_fresh_build_copying_the_rows_it_keeps(tmp_path, layout, old, new,
                                                                          computed):
    before, after = make_jobs(old), make_jobs(new)
    fill(STORES[layout](tmp_path / "out", before), before)
    assert fill(STORES[layout](tmp_path / "out", after), after) == computed
    fill(STORES[layout](tmp_path / "fresh", after), after)
    assert files(tmp_path / "out") == files(tmp_path / "fresh")


@pytest.mark.parametrize("layout", STORES)
def test_a_row_whose_source_changed_is_recomputed_the_others_kept(tmp_path, layout):
    before = make_jobs(COUNTS)
    fill(STORES[layout](tmp_path / "out", before), before)
    after = [replace(j, source_id="2:2:2") if j.source == "owl/owl rec.03.wav" else j for j in before]
    seen = {}
    assert fill(STORES[layout](tmp_path / "out", after), after, seen=seen) == 1
    assert seen == {"removed": 0, "stale": {"train/owl/owl rec.03"}}
    fill(STORES[layout](tmp_path / "fresh", after), after)
    assert files(tmp_path / "out") == files(tmp_path / "fresh")


@pytest.mark.parametrize("layout", STORES)
def test_rows_of_a_split_no_longer_planned_are_removed(tmp_path, layout):
    train, val = make_jobs(COUNTS), make_jobs({"owl": 2}, split="val")
    fill(STORES[layout](tmp_path / "out", train + val), train + val)
    seen = {}
    assert fill(STORES[layout](tmp_path / "out", train), train, seen=seen) == 0
    assert seen == {"removed": 2, "stale": set()}
    fill(STORES[layout](tmp_path / "fresh", train), train)
    assert files(tmp_path / "out") == files(tmp_path / "fresh")


@pytest.mark.parametrize("layout, folder, own", [
    ("packed", "packed", 3),        # the journal, the keys, the partial array
    ("webdataset", "shards", 7)])   # a shard, three partial ones, the journal, keys, offsets
def test_remove_own_leaves_other_files(tmp_path, layout, folder, own):
    jobs = make_jobs(COUNTS)
    store = STORES[layout](tmp_path, jobs)
    fill(store, jobs, stop_after=4)
    (tmp_path / folder / "notes.txt").write_text("mine")
    assert store.remove_own() == own
    assert sorted(p.name for p in (tmp_path / folder).iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("layout", STORES)
def test_a_fresh_store_reads_every_key_back_through_the_protocol(tmp_path, layout):
    jobs = make_jobs(COUNTS)
    fill(STORES[layout](tmp_path, jobs), jobs, fail={"owl/owl rec.01.wav"})
    fresh = STORES[layout](tmp_path, jobs)
    for job in jobs:
        if job.source == "owl/owl rec.01.wav":
            with pytest.raises(KeyError):
                fresh.read(job.key)
        else:
            assert fresh.read(job.key).tobytes() == array_of(job.key).tobytes()
