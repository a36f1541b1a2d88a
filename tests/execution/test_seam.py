"""Steps 1 and 3 through the serial executor write the same bytes as through the process pool."""

from __future__ import annotations

from golden_corpus import write_corpus
from pool_helpers import metadata, tree_digest, without_timestamps

from nightscan_common.dsp.animals import PRESETS
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.execution.process_pool import ProcessPool
from nightscan_common.execution.serial import SerialExecutor
from nightscan_common.formats.source_cache import SOURCES_FILENAME
from nightscan_common.formats.spectrogram_store import MANIFEST_FILENAME
from nightscan_common.steps.index import run_index
from nightscan_common.steps.pool import PoolOptions, run_pool
from nightscan_common.steps.spectrograms import run_spectrograms


def _steps(base, executor):
    pool, spec = base / "pool", base / "spec"
    opts = PoolOptions(target_samples=6, seed=7)
    quiet = RunOptions(progress=False)
    assert run_pool(base.parent / "audio", pool, opts, run=quiet, executor=executor).status == 0
    run_index(pool, base / "index.db", run=quiet)
    report = run_spectrograms(base / "index.db", pool, spec, PRESETS["bat"], run=quiet, executor=executor)
    assert not report.failures
    # the run state that records file identities (inodes, mtimes) is not content: left out
    pool_files = tree_digest(pool, skip=("pool_metadata.json", SOURCES_FILENAME))
    return pool_files, without_timestamps(metadata(pool)), tree_digest(spec, skip=(MANIFEST_FILENAME,))


def test_serial_and_process_pool_give_the_same_bytes(tmp_path):
    write_corpus(tmp_path / "audio")
    serial = _steps(tmp_path / "serial", SerialExecutor())
    pooled = _steps(tmp_path / "pool", ProcessPool(2))
    assert serial == pooled
    assert sum(n.endswith(".npy") for n in serial[2]) == sum(n.endswith(".wav") for n in serial[0]) == 12


def test_the_run_options_of_a_command_line_make_the_executor_and_describe_it(monkeypatch):
    import create_augmented_pool
    import pregenerate_spectrograms_simple
    from nightscan_common import cli
    from nightscan_common.execution import cluster
    from nightscan_common.execution.cluster import RunOptions, open_executor

    step1 = create_augmented_pool.build_parser().parse_args(["--audio-root", "a", "--max-memory", "2G"])
    step3 = pregenerate_spectrograms_simple.build_parser().parse_args(
        ["--index-db", "i", "--pool-root", "p", "-q", "--num-workers", "3"])
    assert cli.run_options(step1) == RunOptions(max_memory=2 << 30)  # the CLI's defaults are the record's
    assert cli.run_options(step3) == RunOptions(num_workers=3, progress=False)
    monkeypatch.setattr(cluster, "default_max_memory", lambda: 5 << 30)
    with open_executor(cli.run_options(step3)) as pool:
        assert isinstance(pool, ProcessPool) and pool.num_workers == 3 and pool.max_memory == 5 << 30
        assert pool.describe() is None  # the step's report names no cluster
    assert SerialExecutor().describe() is None


def test_a_steps_run_options_are_made_whole_once_what_was_given_kept(monkeypatch):
    from nightscan_common.execution import cluster

    monkeypatch.setattr(cluster, "default_max_memory", lambda: 5 << 30)
    assert RunOptions().with_defaults(timeout=600.0) == RunOptions(max_memory=5 << 30, timeout=600.0)
    given = RunOptions(num_workers=2, max_memory=1 << 20, timeout=3.0, progress=False)
    assert given.with_defaults(timeout=600.0) == given
