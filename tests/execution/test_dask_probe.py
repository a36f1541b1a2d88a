"""The Dask probe's kernel check: what decides the bits, compared across workers, and the warning."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from dask_cluster import ROOT, running_cluster, start_workers, stop, wait_for_workers
from kernels import X86_64, forced_kernels

from nightscan_common.execution.dask_executor import DaskExecutor
from nightscan_common.execution.dask_probe import kernel_profile, kernels_warning

A = {"numpy": "X86_V3 X86_V4 AVX512_ICL", "openblas": "SkylakeX", "numba": "znver4", "spectrogram": "bd62"}
B = {"numpy": "X86_V3", "openblas": "Haswell", "numba": "haswell", "spectrogram": "baec"}


def test_workers_that_agree_give_no_warning_and_errors_are_left_to_the_other_checks():
    assert kernels_warning({"tcp://a:1": A, "tcp://b:2": dict(A), "tcp://c:3": OSError("gone")}) is None
    assert kernels_warning({}) is None


def test_workers_that_differ_are_named_with_their_kernels_and_what_it_means():
    warning = kernels_warning({"tcp://a:1": A, "tcp://b:2": B, "tcp://c:3": A})
    assert warning.startswith("the Dask workers compute floats with 2 different sets of kernels (")
    assert "tcp://a:1, tcp://c:3: numpy X86_V3 X86_V4 AVX512_ICL, OpenBLAS SkylakeX, numba znver4, " \
           "spectrogram bd62" in warning
    assert "tcp://b:2: numpy X86_V3, OpenBLAS Haswell, numba haswell, spectrogram baec" in warning
    assert "within the stated tolerances" in warning and "is identical" in warning
    assert "\n" not in warning


@pytest.mark.skipif(not X86_64, reason="forces x86-64 kernels")
def test_forced_kernels_change_the_profile_and_its_spectrogram_digest():
    """The digest sees what the forced kernels change: another CPU type, other bits."""
    here = kernel_profile()
    code = "import json; from nightscan_common.execution.dask_probe import kernel_profile; " \
           "print(json.dumps(kernel_profile()))"
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **forced_kernels()),
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=True)
    forced = json.loads(done.stdout)
    assert forced["openblas"] == "Haswell" and forced["numba"] == "haswell"
    assert forced["spectrogram"] != here["spectrogram"] and len(here["spectrogram"]) == 12
    unforced = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                              cwd=ROOT, check=True)
    assert json.loads(unforced.stdout) == here  # the same kernels: the same bits, in any process


@pytest.mark.skipif(not X86_64, reason="forces x86-64 kernels")
def test_a_cluster_with_a_worker_of_other_kernels_is_warned_naming_it(tmp_path, caplog):
    with running_cluster(tmp_path, n=1) as address:
        odd = start_workers(address, tmp_path, n=1, name="avx2", extra_env=forced_kernels())
        try:
            wait_for_workers(address, 2, named="avx2")
            with DaskExecutor.connect(address, num_workers=2) as ex:
                with caplog.at_level(logging.WARNING, logger="nightscan.execution"):
                    ex.probe()  # a warning, not a refusal
                workers = {str(w["name"]): a for a, w in
                           ex._client.scheduler_info(n_workers=-1)["workers"].items()}
        finally:
            stop(odd)
    warnings = [r.getMessage() for r in caplog.records if "different sets of kernels" in r.getMessage()]
    assert len(warnings) == 1
    avx2 = next(a for name, a in workers.items() if name.startswith("avx2"))
    assert f"{avx2}: numpy X86_V3, OpenBLAS Haswell, numba haswell, spectrogram " in warnings[0]
