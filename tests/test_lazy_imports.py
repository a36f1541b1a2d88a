"""Each command imports what its step uses, and nothing else: the heavy libraries a fresh
interpreter holds after a front end's ``--help`` and after each step's run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import ROOT
from pool_factory import write_pool

#: Libraries that cost a second or so of CPU to import, or a process to start.
HEAVY = ("audiomentations", "scipy.signal", "matplotlib", "PIL", "dask", "distributed", "numba", "soxr")

FRONT_ENDS = ("create_augmented_pool.py", "create_balanced_index.py", "pregenerate_spectrograms_simple.py",
              "make_report.py", "make_demo_data.py", "pipeline.py")

_PROBE = textwrap.dedent("""
    import json, runpy, sys
    script, out, *args = sys.argv[1:]
    sys.argv = [script, *args]
    sys.path.insert(0, {root!r})
    try:
        runpy.run_path(script, run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code
    heavy = {heavy!r}
    with open(out, "w") as f:
        json.dump({{"status": code, "loaded": [m for m in heavy if m in sys.modules]}}, f)
""")


def loaded_after(script: str, *args: object, tmp_path: Path,
                 watched: tuple[str, ...] = HEAVY) -> tuple[int, set[str], str]:
    """Run ``script args`` in a fresh interpreter: its exit status, the ``watched`` modules
    (the heavy ones by default) it left loaded, and what it printed."""
    out = tmp_path / f"modules-{script}.json"
    probe = _PROBE.format(root=str(ROOT), heavy=watched)
    proc = subprocess.run([sys.executable, "-c", probe, str(ROOT / script), str(out), *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    found = json.loads(out.read_text())
    return found["status"], set(found["loaded"]), proc.stdout + proc.stderr


@pytest.mark.parametrize("script", FRONT_ENDS)
def test_help_imports_no_heavy_library(script, tmp_path):
    status, loaded, printed = loaded_after(script, "--help", tmp_path=tmp_path)
    assert status == 0 and "usage:" in printed
    assert loaded == set()


def test_the_pipelines_help_imports_no_step_nor_numpy(tmp_path):
    """It checks every step's options before the first runs, but only when it runs them."""
    fronts = tuple(f.removesuffix(".py") for f in FRONT_ENDS if f != "pipeline.py")
    status, loaded, printed = loaded_after("pipeline.py", "--help", tmp_path=tmp_path,
                                           watched=(*fronts, "numpy", "soundfile"))
    assert status == 0 and "usage:" in printed
    assert loaded == set()


def test_step_2_runs_without_augmentation_plotting_or_resampling_libraries(tmp_path):
    pool = write_pool(tmp_path / "pool", {"owl": [3, 3, 2, 2], "bat": [4, 4, 4]})
    status, loaded, printed = loaded_after("create_balanced_index.py", "--pool-dir", pool,
                                           "--output-db", tmp_path / "index.db", tmp_path=tmp_path)
    assert status == 0, printed
    assert (tmp_path / "index.db").is_file()
    assert loaded == set()


def test_steps_1_and_3_and_the_report_load_only_their_own_libraries(make_audio_root, tmp_path):
    root = make_audio_root({"owl": 3, "bat": 3}, seconds=0.5)
    pool, db, spec = tmp_path / "pool", tmp_path / "index.db", tmp_path / "spec"
    status, loaded, printed = loaded_after(  # every class at its target: nothing to augment
        "create_augmented_pool.py", "--audio-root", root, "--output-dir", pool, "--target-samples", 3,
        "--num-workers", 1, "-q", tmp_path=tmp_path)
    assert status == 0, printed
    assert len(list((pool / "owl").glob("*_original.wav"))) == 3
    # the fingerprint's mel filters come from librosa (and scipy.signal): imported in the
    # parent, once for the forked workers of the check
    assert loaded.isdisjoint({"audiomentations", "matplotlib", "dask"}) and "scipy.signal" in loaded
    status, _, printed = loaded_after("create_balanced_index.py", "--pool-dir", pool, "--output-db", db,
                                      tmp_path=tmp_path)
    assert status == 0, printed
    status, loaded, printed = loaded_after(
        "pregenerate_spectrograms_simple.py", "--index-db", db, "--pool-root", pool, "--output-dir", spec,
        "--num-workers", 1, "-q", tmp_path=tmp_path)
    assert status == 0, printed
    assert len(list(spec.rglob("*.npy"))) == 6
    assert loaded.isdisjoint({"audiomentations", "matplotlib", "dask"})
    status, loaded, printed = loaded_after(
        "make_report.py", "--pool-dir", pool, "--index-db", db, "--spectrogram-dir", spec,
        "--output-dir", tmp_path / "report", "-q", tmp_path=tmp_path)
    assert status == 0, printed
    assert (tmp_path / "report" / "report.html").is_file()
    assert "matplotlib" in loaded and loaded.isdisjoint({"audiomentations", "dask"})


def test_step_1_imports_audiomentations_when_it_augments(make_audio_root, tmp_path):
    root = make_audio_root({"owl": 2}, seconds=0.5)
    status, loaded, printed = loaded_after(
        "create_augmented_pool.py", "--audio-root", root, "--output-dir", tmp_path / "pool",
        "--target-samples", 3, "--augmentations", "volume", "--num-workers", 1, "-q", tmp_path=tmp_path)
    assert status == 0, printed
    assert len(list((tmp_path / "pool" / "owl").glob("*_aug001_volume.wav"))) == 1
    assert "audiomentations" in loaded and loaded.isdisjoint({"matplotlib", "dask"})
