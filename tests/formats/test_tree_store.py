"""The .npy tree store: step 3's output read back through the store protocol alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from spectrogram_helpers import small_pool

from nightscan_common.dsp.animals import PRESETS
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.formats.index_db import read_index_rows
from nightscan_common.formats.spectrogram_store import SpectrogramStore
from nightscan_common.formats.tree_store import TreeStore
from nightscan_common.plans.spectrogram_plan import plan_jobs
from nightscan_common.steps.spectrogram_inputs import source_id
from nightscan_common.steps.spectrograms import run_spectrograms
from nightscan_common.vocabulary import Job


def test_step_3_output_reads_back_through_the_protocol(tmp_path):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    run_spectrograms(db, pool, out, PRESETS["general"], run=RunOptions(progress=False))
    jobs, _ = plan_jobs(read_index_rows(db))
    jobs = [replace(j, source_id=source_id(pool / j.source)) for j in jobs]
    store: SpectrogramStore = TreeStore(out)
    store.prepare(jobs, overwrite=False)
    assert store.layout == "tree" and store.done(jobs) == {j.key for j in jobs} and len(jobs) == len(rows)
    for job in jobs:
        spec = store.read(job.key)
        assert spec.shape == PRESETS["general"].shape and spec.dtype == np.float32
    assert store.bytes_on_disk() > 0 and store.remove_unlisted(("train", "val", "test")) == 0
    store.prepare(jobs[1:], overwrite=False)  # an index without the first row
    assert store.remove_unlisted(("train", "val", "test")) == 1 and not store.path(jobs[0].key).exists()


def test_a_writer_puts_atomically_and_the_store_removes_only_its_own(tmp_path):
    store = TreeStore(tmp_path)
    job = Job(key="train/owl/a", source="owl/a.wav", split="train")
    receipt = store.writer().put(job, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert receipt == {"bytes": (tmp_path / "train/owl/a.npy").stat().st_size}
    (tmp_path / "train" / "owl" / "notes.txt").write_text("mine")
    store.prepare([job], overwrite=False)
    assert store.done([job]) == set() and store.stale([job]) == {"train/owl/a"}  # made from what?
    store.record(job, receipt)
    assert store.done([job, Job(key="val/owl/b", source="owl/b.wav", split="val")]) == {"train/owl/a"}
    assert store.stale([replace(job, source_id="1:2:3")]) == {"train/owl/a"}
    assert store.read("train/owl/a").tolist() == [[0, 1, 2], [3, 4, 5]]
    assert store.remove_own() == 1 and not store.holds_output()
    assert (tmp_path / "train" / "owl" / "notes.txt").read_text() == "mine"
