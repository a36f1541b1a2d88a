"""The Dask probe's kernel check: what decides the bits, compared across workers, and the warning."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from dask_cluster import ROOT, running_cluster, start_workers, stop, wait_for_workers
from kernels import X86_64, baseline_kernels

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


def _profile_with(env: dict[str, str] | None) -> dict[str, str]:
    code = "import json; from nightscan_common.execution.dask_probe import kernel_profile; " \
           "print(json.dumps(kernel_profile()))"
    done = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, **(env or {})),
                          capture_output=True, text=True, timeout=300, cwd=ROOT, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def other_kernels() -> tuple[dict[str, str], dict[str, str]]:
    """The baseline x86-64 kernels forced, and the profile a process gets with them."""
    if not X86_64:
        pytest.skip("forces x86-64 kernels")
    env = baseline_kernels()
    profile = _profile_with(env)
    if profile == kernel_profile():
        pytest.skip("this process runs the baseline kernels already: nothing else to force")
    return env, profile


def test_other_kernels_change_the_profile_and_its_spectrogram_digest(other_kernels):
    """The digest sees what other kernels change; the same kernels give the same bits anywhere."""
    _, forced = other_kernels
    here = kernel_profile()
    assert forced["openblas"] != here["openblas"] and forced["numba"] == "generic"
    assert forced["spectrogram"] != here["spectrogram"] and len(here["spectrogram"]) == 12
    assert _profile_with(None) == here


def test_a_cluster_with_a_worker_of_other_kernels_is_warned_naming_it(other_kernels, tmp_path, caplog):
    env, forced = other_kernels
    with running_cluster(tmp_path, n=1) as address:
        odd = start_workers(address, tmp_path, n=1, name="old", extra_env=env)
        try:
            wait_for_workers(address, 2, named="old")
            with DaskExecutor.connect(address, num_workers=2) as ex:
                with caplog.at_level(logging.WARNING, logger="nightscan.execution"):
                    ex.probe()  # a warning, not a refusal
                workers = {str(w["name"]): a for a, w in
                           ex._client.scheduler_info(n_workers=-1)["workers"].items()}
        finally:
            stop(odd)
    warnings = [r.getMessage() for r in caplog.records if "different sets of kernels" in r.getMessage()]
    assert len(warnings) == 1
    old = next(a for name, a in workers.items() if name.startswith("old"))
    assert f"{old}: numpy {forced['numpy']}, OpenBLAS {forced['openblas']}, numba generic, spectrogram " \
           f"{forced['spectrogram']}" in warnings[0]
