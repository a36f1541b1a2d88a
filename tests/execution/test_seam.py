"""Steps 1 and 3 through the serial executor write the same bytes as through the process pool."""

from __future__ import annotations

from golden_corpus import write_corpus
from pool_helpers import metadata, tree_digest, without_timestamps

from nightscan_common.dsp.animals import PRESETS
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
    assert run_pool(base.parent / "audio", pool, opts, progress=False, executor=executor).status == 0
    run_index(pool, base / "index.db", progress=False)
    report = run_spectrograms(base / "index.db", pool, spec, PRESETS["bat"], progress=False,
                              executor=executor)
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
