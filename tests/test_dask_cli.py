"""Steps 1 and 3 through ``--scheduler`` on a real cluster, as a user runs them: a local run's
bytes though a worker dies, a parent killed or interrupted and rerun, an unreachable scheduler."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from dask_cluster import (
    can_cover_folders,
    global_rngs_churning,
    running_cluster,
    start_scheduler,
    start_worker_on_other_storage,
    start_workers,
    stop,
    wait_for_workers,
    worker_pids,
)
from fault_helpers import call_main, interrupt, start_paused, wait_for_pause, wait_until_gone
from golden_corpus import HASHES, broken_promises, reference, step_args, write_corpus
from pool_helpers import tree_digest

import create_augmented_pool
import create_balanced_index
import pregenerate_spectrograms_simple
from nightscan_common.dsp.augmentations import AUGMENTATION_TYPES
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.execution import dask_executor
from nightscan_common.formats.tree_store import TreeStore
from nightscan_common.steps import pool as pool_step

POOL, SPEC = "create_augmented_pool.py", "pregenerate_spectrograms_simple.py"
#: The parent's call per finished item of each step (where a test kills a worker or pauses).
POOL_RECORD, SPEC_RECORD = "nightscan_common.steps.pool:write_done", \
    "nightscan_common.formats.tree_store:TreeStore.record"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A scheduler and two workers, started as by hand, for every test of this module."""
    with running_cluster(tmp_path_factory.mktemp("cluster")) as address:
        yield address


@pytest.fixture
def corpus(tmp_path, cluster):
    wait_for_workers(cluster, 2)  # a test before may have killed one; its nanny restarts it
    write_corpus(tmp_path / "audio")
    return step_args(tmp_path)


def _golden() -> dict:
    return json.loads(HASHES.read_text(encoding="utf-8"))


#: The summary's line for the cluster (a scheduler started with a dashboard names it).
SUMMARY = r"^Dask cluster {}: [12] worker\(s\) took part(; dashboard http://\S+)?$"


def _killing_a_worker_first(func, address: str, killed: list[int]):
    """``func``, run by the parent per finished item, killing one worker at its first call."""

    def wrapper(*args, **kwargs):
        if not killed:
            killed.append(worker_pids(address)[0])
            os.kill(killed[0], signal.SIGKILL)
        return func(*args, **kwargs)

    return wrapper


def test_steps_1_and_3_on_a_cluster_write_a_local_runs_bytes_though_a_worker_dies(
        cluster, corpus, tmp_path, capsys, monkeypatch):
    on_cluster = ["--scheduler", cluster, "-q"]
    status, out, err = call_main(create_augmented_pool.main, corpus["pool"] + on_cluster, capsys)
    assert status == 0, err
    assert re.search(SUMMARY.format(re.escape(cluster)), out, re.M), out
    assert create_balanced_index.main(corpus["index"] + ["-q"]) == 0
    killed: list[int] = []
    monkeypatch.setattr(TreeStore, "record", _killing_a_worker_first(TreeStore.record, cluster,
                                                                     killed))
    status, out, err = call_main(pregenerate_spectrograms_simple.main, corpus["spec"] + on_cluster,
                                 capsys)
    assert status == 0, err
    assert re.search(SUMMARY.format(re.escape(cluster)), out, re.M), out
    assert len(killed) == 1
    assert broken_promises(reference(tmp_path), _golden()) == []


#: Every augmentation type, by an animal type that allows it (air absorption wants a preset
#: of 32 kHz or more, pitch_shift one that may shift pitch); steps 1 to 3 for the first,
#: step 1 alone for the second.
EVERY_TYPE = {"general": tuple(n for n in AUGMENTATION_TYPES if n != "air_absorption"),
              "bat": ("air_absorption",)}


def _every_type_args(base: Path, animal: str, out: str) -> dict[str, list[str]]:
    """Steps 1 to 3 on three recordings of one class, each type made once, noise folders given."""
    for i in range(3):
        write_recording(base / "audio" / "owl" / f"rec_{i}.wav", call="hoots", seconds=1.0, seed=i)
    # its own noise floor: seed 0 would be rec_0's, which the noise check calls a copy of it
    write_recording(base / "bg" / "rain.wav", call="noise_bursts", seconds=2.0, seed=101)
    write_recording(base / "short" / "drop.wav", call="clicks", seconds=0.2)
    types = EVERY_TYPE[animal]
    pool, db = base / out / "pool", base / out / "index.db"
    return {"pool": ["--audio-root", str(base / "audio"), "--output-dir", str(pool), "--target-samples",
                     str(3 + len(types)), "--augmentations", ",".join(types), "--animal-type", animal,
                     "--background-noise-dir", str(base / "bg"), "--short-noise-dir", str(base / "short"),
                     "--num-workers", "2", "-q"],
            "index": ["--pool-dir", str(pool), "--output-db", str(db), "-q"],
            "spec": ["--index-db", str(db), "--pool-root", str(pool), "--output-dir",
                     str(base / out / "spec"), "--num-workers", "2", "--animal-type", animal, "-q"]}


@pytest.mark.parametrize("animal", list(EVERY_TYPE))
def test_every_augmentation_type_on_a_cluster_drawing_from_the_global_rngs_writes_a_local_runs_bytes(
        animal, cluster, tmp_path, capsys):
    """The workers run another thread drawing from ``random`` and ``np.random`` throughout."""
    wait_for_workers(cluster, 2)
    local, remote = (_every_type_args(tmp_path, animal, out) for out in ("local", "remote"))
    steps = ("pool", "spec") if animal == "general" else ("pool",)
    for args in (local, remote):
        extra = ["--scheduler", cluster] if args is remote else []
        with global_rngs_churning(cluster) if args is remote else contextlib.nullcontext():
            status, _, err = call_main(create_augmented_pool.main, args["pool"] + extra, capsys)
            assert status == 0, err
            if "spec" in steps:
                assert create_balanced_index.main(args["index"]) == 0
                status, _, err = call_main(pregenerate_spectrograms_simple.main, args["spec"] + extra, capsys)
                assert status == 0, err
    made = {re.fullmatch(r".*_aug\d{3}_(.+)\.wav", p.name)[1]
            for p in (tmp_path / "remote" / "pool" / "owl").glob("*_aug*")}
    assert made == set(EVERY_TYPE[animal])
    for step in steps:  # the audio and the spectrograms (the records name their folders)
        remote, local = (tree_digest(tmp_path / where / step) for where in ("remote", "local"))
        data = [k for k in local if k.endswith((".wav", ".npy"))]
        assert len(data) == 3 + len(EVERY_TYPE[animal]) and {k: remote.get(k) for k in data} == \
            {k: local[k] for k in data}
    files = [json.loads((tmp_path / where / "pool" / "pool_metadata.json").read_text())
             ["classes"]["owl"]["files"] for where in ("remote", "local")]
    assert files[0] == files[1]  # the parameters recorded


def test_a_killed_or_interrupted_run_resumes_on_the_same_cluster_or_on_none(
        cluster, corpus, tmp_path, capsys):
    pool_args = corpus["pool"] + ["--scheduler", cluster, "-q"]
    proc, marker = start_paused(tmp_path, POOL, pool_args, pause=POOL_RECORD, nth=3)
    wait_for_pause(proc, marker)
    interrupt(proc, signal.SIGKILL)  # the parent only: the cluster goes on
    assert create_augmented_pool.main(pool_args) == 0
    assert create_balanced_index.main(corpus["index"] + ["-q"]) == 0
    spec = corpus["spec"] + ["-q"]
    proc, marker = start_paused(tmp_path, SPEC, spec + ["--scheduler", "local"], pause=SPEC_RECORD,
                                nth=2)
    wait_for_pause(proc, marker)
    interrupt(proc, signal.SIGINT)  # 130 within seconds, one line
    assert wait_until_gone(proc.pid) == [], "the local cluster's processes outlived the run"
    status, _, err = call_main(pregenerate_spectrograms_simple.main, spec, capsys)  # no cluster
    assert status == 0, err
    assert broken_promises(reference(tmp_path), _golden()) == []


def test_an_unreachable_scheduler_exits_2_in_seconds_with_one_line_and_writes_nothing(
        tmp_path, capsys):
    out = tmp_path / "spec"
    start = time.monotonic()
    status, _, err = call_main(pregenerate_spectrograms_simple.main, [
        "--index-db", tmp_path / "index.db", "--pool-root", tmp_path, "--output-dir", out,
        "--scheduler", "tcp://127.0.0.1:9"], capsys)
    assert time.monotonic() - start < 10
    assert status == 2 and err.startswith("error: cannot reach the Dask scheduler at "
                                          "tcp://127.0.0.1:9 (") and err.count("\n") == 1
    assert not Path(out).exists()


def _names(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and not p.name.startswith("."))


def test_relative_folders_reach_workers_started_elsewhere_as_a_local_run_does(
        cluster, corpus, tmp_path, capsys, monkeypatch):
    """The workers run in another folder: --audio-root and a packed --output-dir given
    relative to the parent's must name the same files there (every file made, no row lost)."""
    monkeypatch.chdir(tmp_path)
    relative = {k: [os.path.relpath(a, tmp_path) if str(a).startswith(str(tmp_path)) else a
                    for a in v] for k, v in corpus.items()}
    on_cluster = ["--scheduler", cluster, "-q"]
    status, _, err = call_main(create_augmented_pool.main, relative["pool"] + on_cluster, capsys)
    assert status == 0, err
    assert create_augmented_pool.main(relative["pool"] + ["--output-dir", "local_pool", "-q"]) == 0
    assert _names(tmp_path / "pool") == _names(tmp_path / "local_pool")
    assert create_balanced_index.main(relative["index"] + ["-q"]) == 0
    packed = relative["spec"] + ["--layout", "packed", "-q"]
    status, _, err = call_main(pregenerate_spectrograms_simple.main, packed + ["--scheduler", cluster],
                               capsys)
    assert status == 0, err
    assert pregenerate_spectrograms_simple.main(packed + ["--output-dir", "local_spec"]) == 0
    for split in ("train", "val", "test"):
        on, local = (tmp_path / d / "packed" for d in ("spec", "local_spec"))
        assert (on / f"{split}.csv").read_bytes() == (local / f"{split}.csv").read_bytes()
        arrays = np.load(on / f"{split}.npy"), np.load(local / f"{split}.npy")
        assert arrays[0].shape == arrays[1].shape
        assert np.abs(arrays[0]).reshape(len(arrays[0]), -1).max(axis=1).min() > 0  # no empty slot
        np.testing.assert_allclose(arrays[0], arrays[1], atol=1e-4)


def _step_under_test(step: str, tmp_path: Path):
    """The golden corpus made ready for ``step`` (for step 3: its pool and index), the step's
    arguments, its ``main``, and the parent's call per finished item (owner, name)."""
    write_corpus(tmp_path / "audio")
    args = step_args(tmp_path)
    if step == "spec":
        assert create_augmented_pool.main(args["pool"] + ["-q"]) == 0
        assert create_balanced_index.main(args["index"] + ["-q"]) == 0
    main = create_augmented_pool.main if step == "pool" else pregenerate_spectrograms_simple.main
    owner, name = (pool_step, "write_done") if step == "pool" else (TreeStore, "record")
    return args, main, owner, name


@pytest.mark.parametrize("step", ["pool", "spec"])
def test_a_scheduler_lost_mid_run_is_exit_3_with_one_true_line(step, tmp_path, capsys, monkeypatch):
    args, main, owner, name = _step_under_test(step, tmp_path)
    recorded = getattr(owner, name)
    scheduler, address = start_scheduler(tmp_path)
    workers = start_workers(address, tmp_path, n=1)

    def stopping_the_scheduler(*a, **kw):
        stop(scheduler)  # at the first finished item: the scheduler is gone, the parent goes on
        return recorded(*a, **kw)

    monkeypatch.setattr(owner, name, stopping_the_scheduler)
    monkeypatch.setattr(dask_executor, "REFRESH_SECONDS", 0.0)  # asks the scheduler after each batch
    try:
        wait_for_workers(address, 1)
        status, _, err = call_main(main, args[step] + ["--scheduler", address, "-q"], capsys)
    finally:
        stop(workers)
        stop(scheduler)
    assert (status, err) == (3, f"error: lost the Dask scheduler at {address}; finished files are "
                                "kept, rerun the same command to resume\n")


@pytest.mark.skipif(not can_cover_folders(), reason="needs root and mount namespaces (unshare -m)")
@pytest.mark.parametrize("step", ["pool", "spec"])
def test_a_worker_joining_mid_run_on_other_storage_never_leaves_files_reported_made_missing(
        step, tmp_path, capsys, monkeypatch):
    """After the probe, a worker joins whose output folder is its own disk, and the worker
    that was probed goes: the run stops (exit 3, one line naming it) or every file it says
    it made is in the parent's folder."""
    args, main, owner, name = _step_under_test(step, tmp_path)
    out = tmp_path / step
    recorded = getattr(owner, name)
    scheduler, address = start_scheduler(tmp_path)
    probed = start_workers(address, tmp_path, n=1, name="probed")
    late: list = []

    def joining_after_the_probe(*a, **kw):
        if not late:  # the first finished item: the probed worker gives way to a late one
            late.append(start_worker_on_other_storage(address, tmp_path, out, name="late"))
            wait_for_workers(address, 2, named="late")
            stop(probed)
        return recorded(*a, **kw)

    monkeypatch.setattr(owner, name, joining_after_the_probe)
    try:
        wait_for_workers(address, 1)
        status, _, err = call_main(main, args[step] + ["--scheduler", address, "-q"], capsys)
    finally:
        for proc in (*late, probed, scheduler):
            stop(proc)
    assert late
    if status == 0:
        assert _missing(step, out, tmp_path / "index.db") == []
    else:
        assert status == 3 and err.count("\n") == 1, err
        assert re.match(r"error: Dask worker tcp://127\.0\.0\.1:\d+ joined after the start and does "
                        rf"not see the parent's {re.escape(str(out))} \(not the same shared storage\)",
                        err), err


def _missing(step: str, out: Path, index_db: Path) -> list[str]:
    """What a finished run says it made (the pool metadata, the index rows) and ``out`` lacks."""
    if step == "pool":
        meta = json.loads((out / "pool_metadata.json").read_text(encoding="utf-8"))
        made = [f"{c}/{f['filename']}" for c, e in meta["classes"].items() for f in e["files"]]
    else:
        with sqlite3.connect(index_db) as con:
            rows = con.execute("SELECT file_path, class_name, split FROM audio_samples").fetchall()
        made = [f"{split}/{cls}/{Path(path).stem}.npy" for path, cls, split in rows]
    return [m for m in made if not (out / m).exists()]
