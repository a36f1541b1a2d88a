"""Step 1 against hostile and odd inputs: NaN samples, links, names, long names, memory, resources.

Each case checks what a user would: the exit status, the one line or the listed reason,
that nothing outside the pool was touched, and that every JSON written is strict.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fault_helpers import ROOT, call_main, snapshot

import create_augmented_pool as front
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.execution.process_pool import ProcessPool
from nightscan_common.io.run_lock import exclusive_run
from nightscan_common.steps import pool_checks

STEP = "step 1"
FAST = ["--target-samples", "2", "--augmentations", "volume", "--num-workers", "2", "-q"]


def _no_constant(name: str):
    raise ValueError(f"{name} is not strict JSON")


def strict_load(path: Path):
    """Parse as a strict parser would: ``NaN`` and ``Infinity`` are errors."""
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)


def _clip(path: Path, seed: int = 0, seconds: float = 0.3) -> Path:
    write_recording(path, seed=seed, seconds=seconds, samplerate=8000)
    return path


def _pool(tmp_path: Path, root: Path, capsys, *extra: object, out: Path | None = None):
    out = out or tmp_path / "pool"
    return call_main(front.main, ["--audio-root", root, "--output-dir", out, *FAST, *extra], capsys)


def test_a_nan_sample_is_a_reason_to_skip_and_the_metadata_stays_strict(tmp_path, capsys, fault_ledger):
    root = tmp_path / "audio"
    _clip(root / "owl" / "ok.wav")
    signal = np.full(4000, 0.1, np.float32)
    signal[1234] = np.nan
    sf.write(root / "owl" / "nan.wav", signal, 8000, subtype="FLOAT")
    status, _, err = _pool(tmp_path, root, capsys, "--augmentations", "volume,noise")
    assert status == 1, err
    meta = strict_load(tmp_path / "pool" / "pool_metadata.json")
    assert [s["path"] for s in meta["skipped"]] == ["owl/nan.wav"]
    assert "non-finite samples (NaN or infinity)" in meta["skipped"][0]["reason"]
    assert "silent" not in err
    fault_ledger.bad_inputs[STEP] += 1


def test_a_linked_class_folder_is_refused_and_what_it_leads_to_is_untouched(tmp_path, capsys,
                                                                             fault_ledger):
    root = tmp_path / "audio"
    for i in range(2):
        _clip(root / "owl" / f"rec_{i}.wav", seed=i)
    assert _pool(tmp_path, root, capsys)[0] == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for name in ("rec_0_original.wav", "keep_aug001_volume.wav"):
        (elsewhere / name).write_bytes(b"not the pool's")
    before = snapshot(elsewhere)
    (tmp_path / "pool" / "owl").rename(tmp_path / "owl_moved")
    (tmp_path / "pool" / "owl").symlink_to(elsewhere)
    for extra in ((), ("--overwrite",), ("--seed", "7", "--overwrite")):
        status, _, err = _pool(tmp_path, root, capsys, *extra)
        assert status == 2 and err.count("\n") == 1, err
        assert "is a link to" in err and "replace the link with a folder" in err
    assert snapshot(elsewhere) == before
    (tmp_path / "pool" / "owl").unlink()
    (tmp_path / "pool" / "owl").symlink_to(root / "owl")  # into the input
    inputs = snapshot(root)
    assert _pool(tmp_path, root, capsys, "--overwrite")[0] == 2
    assert snapshot(root) == inputs
    fault_ledger.bad_inputs[STEP] += 2


@pytest.mark.parametrize("dry_run", [False, True])
def test_names_that_are_not_utf8_are_skipped_and_listed(tmp_path, capsys, fault_ledger, dry_run):
    root = tmp_path / "audio"
    for i in range(2):
        _clip(root / "owl" / f"rec_{i}.wav", seed=i)
    os.rename(_clip(root / "owl" / "bad.wav", seed=5), root / "owl" / os.fsdecode(b"bad\xff.wav"))
    os.rename(_clip(root / "class" / "a.wav", seed=6).parent, root / os.fsdecode(b"cl\xe9ss"))
    status, out, err = _pool(tmp_path, root, capsys, *(["--dry-run"] if dry_run else []))
    assert status == 1, err
    assert "Traceback" not in err
    assert "owl/bad\\xff.wav" in out + err and "cl\\xe9ss" in out + err
    if not dry_run:
        meta = strict_load(tmp_path / "pool" / "pool_metadata.json")
        assert sorted(s["path"] for s in meta["skipped"]) == ["cl\\xe9ss", "owl/bad\\xff.wav"]
        assert "not UTF-8" in meta["skipped"][0]["reason"]
        assert sorted(meta["classes"]) == ["owl"] and meta["classes"]["owl"]["total_count"] == 2
        # a rerun is complete, not a traceback on every try
        assert _pool(tmp_path, root, capsys)[0] == 1
    fault_ledger.bad_inputs[STEP] += 1


@pytest.mark.parametrize("layout", ["tree", "packed", "webdataset"])
def test_a_backslash_in_a_name_is_accepted_by_every_step(tmp_path, capsys, fault_ledger, layout):
    import create_balanced_index as step2
    import pregenerate_spectrograms_simple as step3
    from nightscan_common.dataset import SpectrogramDataset

    root = tmp_path / "audio"  # as a zip made on Windows extracts on Linux: one name, not a path
    for c, cls in enumerate(["owl", "bat", "frog\\night"]):
        for i in range(1 if cls == "owl" else 2):
            _clip(root / cls / f"rec_{i}.wav", seed=10 * c + i)
    _clip(root / "owl" / "night1\\rec.wav", seed=77)
    pool, db, out = tmp_path / "pool", tmp_path / "index.db", tmp_path / "out"
    assert _pool(tmp_path, root, capsys)[0] == 0
    files = sorted(f["filename"] for f in strict_load(pool / "pool_metadata.json")["classes"]["owl"]["files"])
    assert files == ["night1\\rec_original.wav", "rec_0_original.wav"]
    index = ["--pool-dir", pool, "--output-db", db, "-q"]
    assert call_main(step2.main, index, capsys)[0] == 0
    status, stdout, _ = _pool(tmp_path, root, capsys)
    assert status == 0 and "already complete" in stdout  # its own rerun reads the pool it wrote
    assert _pool(tmp_path, root, capsys, "--overwrite")[0] == 0
    assert call_main(step2.main, [*index, "--overwrite"], capsys)[0] == 0
    status, _, err = call_main(step3.main, ["--index-db", db, "--pool-root", pool, "--output-dir", out,
                                            "--layout", layout, "--num-workers", "1", "-q"], capsys)
    assert status == 0, err
    con = sqlite3.connect(db)
    splits = [s for (s,) in con.execute("SELECT DISTINCT split FROM audio_samples")]
    con.close()
    assert sum(len(SpectrogramDataset(out, split, layout=layout, index_db=db)) for split in splits) == 6
    if layout == "tree":
        assert len(list(out.glob("*/owl/night1\\rec_original.npy"))) == 1
        assert len(list(out.glob("*/frog\\night/rec_0_original.npy"))) == 1
    fault_ledger.bad_inputs[STEP] += 1


def test_step_1_s_own_json_files_that_are_a_fifo_or_a_device_are_refused(tmp_path, capsys, fault_ledger):
    import signal

    root = tmp_path / "audio"
    for i in range(2):
        _clip(root / "owl" / f"rec_{i}.wav", seed=i)
    assert _pool(tmp_path, root, capsys)[0] == 0
    pool = tmp_path / "pool"

    def hung(signum, frame):
        raise AssertionError("step 1 hung reading its own file")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        for name, kind in ((".pool_sources.json", "pipe"), (".pool_progress.jsonl", "pipe"),
                           (".pool_sources.json", "device"), (".pool_progress.jsonl", "device")):
            path = pool / name
            kept = path.read_bytes() if path.exists() else None
            path.unlink(missing_ok=True)
            os.mkfifo(path) if kind == "pipe" else path.symlink_to("/dev/zero")
            status, _, err = _pool(tmp_path, root, capsys)
            assert status == 2 and err.count("\n") == 1, err
            assert f"{name} is not a regular file (a {kind})" in err, err
            path.unlink()
            if kept is not None:
                path.write_bytes(kept)
            fault_ledger.bad_inputs[STEP] += 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert _pool(tmp_path, root, capsys)[0] == 0


def test_a_long_valid_source_name_fits_its_temporary(tmp_path, capsys, fault_ledger):
    root = tmp_path / "audio"
    name = "n" * 221 + ".wav"  # 225 characters: the original's pool name has 234
    _clip(root / "owl" / name)
    _clip(root / "owl" / "short.wav", seed=1)
    status, _, err = _pool(tmp_path, root, capsys, "--target-samples", "3")
    assert status == 0, err
    assert (tmp_path / "pool" / "owl" / ("n" * 221 + "_original.wav")).is_file()
    fault_ledger.bad_inputs[STEP] += 1


def test_an_id3_only_mp3_gets_a_true_reason(tmp_path, capsys, fault_ledger):
    root = tmp_path / "audio"
    _clip(root / "owl" / "ok.wav")
    (root / "owl" / "tags.mp3").write_bytes(b"ID3\x04\x00\x00\x00\x00\x01\x00" + b"\x00" * 128)
    status, _, _ = _pool(tmp_path, root, capsys)
    assert status == 1
    reason = strict_load(tmp_path / "pool" / "pool_metadata.json")["skipped"][0]["reason"]
    assert "ID3 tag of 138 bytes and no audio" in reason and "pipe" not in reason
    fault_ledger.bad_inputs[STEP] += 1


def test_librosa_warnings_are_silent_under_quiet(tmp_path):
    root = tmp_path / "audio"
    _clip(root / "owl" / "tiny.wav", seconds=0.05)
    res = subprocess.run([sys.executable, str(ROOT / "create_augmented_pool.py"), "--audio-root", str(root),
                          "--output-dir", str(tmp_path / "pool"), "--target-samples", "4", "--augmentations",
                          "time_stretch,pitch_shift,combined", "--num-workers", "1", "-q",
                          "--min-duration", "0"],  # 0.05 s: shorter than the gate's default
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "Warning" not in res.stderr


# ---------------------------------------------------------------- resources and late refusals


def _pid(item: int) -> int:
    time.sleep(0.05)
    return os.getpid()


def test_workers_are_never_more_than_the_tasks(fault_ledger):
    start = time.monotonic()
    pids = {o.result for o in ProcessPool(1000).map(_pid, [1, 2, 3], desc="t", progress=False)}
    assert len(pids) <= 3 and time.monotonic() - start < 10
    assert ProcessPool(1000).num_workers <= 4 * len(os.sched_getaffinity(0))
    fault_ledger.bad_inputs[STEP] += 1


def _other_device(tmp_path: Path) -> Path | None:
    for base in ("/dev/shm", "/run", "/var/tmp"):
        usable = os.path.isdir(base) and os.access(base, os.W_OK)
        if usable and os.stat(base).st_dev != os.stat(tmp_path).st_dev:
            return Path(base)
    return None


def test_hardlinks_across_file_systems_are_refused_before_any_decoding(tmp_path, capsys, monkeypatch,
                                                                      fault_ledger):
    other = _other_device(tmp_path)
    if other is None:
        pytest.skip("no writable folder on another file system here")
    root = tmp_path / "audio"
    _clip(root / "owl" / "a.wav")
    out = other / f"nightscan-test-{os.getpid()}-{time.monotonic_ns()}"
    monkeypatch.setattr(pool_checks, "probe_and_audit", _must_not_decode)
    try:
        status, _, err = _pool(tmp_path, root, capsys, "--link-mode", "hardlink", out=out)
        assert status == 2 and err.count("\n") == 1, err
        assert "different file systems" in err and "--link-mode copy" in err
        assert sorted(p.name for p in out.iterdir()) == [".nightscan.lock"]
    finally:
        subprocess.run(["rm", "-rf", str(out)], check=False)
    fault_ledger.bad_inputs[STEP] += 1


def _must_not_decode(path):
    Path(path).with_name("decoded").touch()  # seen from a worker too
    raise AssertionError(f"decoded {path} before refusing")


def test_a_busy_pool_is_refused_before_any_decoding(tmp_path, capsys, monkeypatch, fault_ledger):
    root = tmp_path / "audio"
    _clip(root / "owl" / "a.wav")
    monkeypatch.setattr(pool_checks, "probe_and_audit", _must_not_decode)
    with exclusive_run(tmp_path / "pool", folder=True):
        status, _, err = _pool(tmp_path, root, capsys, "--num-workers", "1")
    assert status == 2 and "another run is writing" in err, err
    assert not (root / "owl" / "decoded").exists()
    fault_ledger.bad_inputs[STEP] += 1


@pytest.mark.parametrize("break_it, field", [
    (lambda m: m["classes"]["owl"].update(files=5), "'classes.owl'.files must be a list, got 5"),
    (lambda m: m["classes"].update(owl=[]), "'classes.owl' must be an object, got []"),
    (lambda m: m["classes"]["owl"]["files"][0].pop("source"), "file entry 0: 'source' must be"),
    (lambda m: m["classes"]["owl"].update(total_count="2"), "'total_count' must be a whole number"),
    (lambda m: m.update(params=[1]), "'params' must be an object, got [1]"),
])
def test_malformed_metadata_of_an_existing_pool_names_the_field(tmp_path, capsys, fault_ledger,
                                                                break_it, field):
    root = tmp_path / "audio"
    _clip(root / "owl" / "a.wav")
    assert _pool(tmp_path, root, capsys)[0] == 0
    path = tmp_path / "pool" / "pool_metadata.json"
    meta = json.loads(path.read_text())
    break_it(meta)
    path.write_text(json.dumps(meta))
    status, _, err = _pool(tmp_path, root, capsys)
    assert status == 2 and err.count("\n") == 1 and err.startswith("error: "), err
    assert "pool_metadata.json" in err and field in err
    fault_ledger.bad_inputs[STEP] += 1


# ---------------------------------------------------------------- memory

MEMORY_SCRIPT = """
import resource, sys
sys.path.insert(0, {root!r})
import create_augmented_pool as script
from nightscan_common.dsp.augmentations import warm_up
warm_up(("time_stretch",))
with open("/proc/self/status") as fh:
    base = next(int(l.split()[1]) * 1024 for l in fh if l.startswith("VmPeak:"))
limit = base + {extra}
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.exit(script.main({argv!r}))
"""


@pytest.fixture(scope="module")
def ten_minute_stereo(tmp_path_factory) -> Path:
    """``audio/owl/long.wav``: 10 minutes of 4 kHz stereo, and a short clip beside it."""
    root = tmp_path_factory.mktemp("memory") / "audio"
    (root / "owl").mkdir(parents=True)
    t = np.arange(600 * 4000) / 4000
    wave = np.stack([0.2 * np.sin(2 * np.pi * 440 * t), 0.1 * np.sin(2 * np.pi * 300 * t)], axis=1)
    sf.write(root / "owl" / "long.wav", wave.astype(np.float32), 4000, subtype="PCM_16")
    _clip(root / "owl" / "short.wav")
    return root


def _stretch_estimate() -> int:
    from nightscan_common.plans.pool_plan import plan_class
    from nightscan_common.steps.pool_worker import task_memory

    plan = plan_class("owl", ["long.wav"], target=2, max_augmentations=1, augmentations=("time_stretch",),
                      seed=42, keep_all=False)
    return task_memory(plan.tasks[0], frames=600 * 4000, channels=2)


@pytest.mark.parametrize("max_memory", [None, "150M"])
def test_a_long_stereo_stretch_stays_within_its_estimate_or_is_listed(tmp_path, ten_minute_stereo,
                                                                      max_memory, fault_ledger):
    """Under an address-space limit of the process's size plus the task's estimate (and a
    margin for the pool's threads), the stretch either runs within it or, with a budget
    below its estimate, is listed with the reason while the rest of the run goes on."""
    estimate = _stretch_estimate()
    argv = ["--audio-root", str(ten_minute_stereo), "--output-dir", str(tmp_path / "pool"),
            "--target-samples", "4", "--augmentations", "time_stretch", "--num-workers", "1", "-q"]
    argv += ["--max-memory", max_memory] if max_memory else []
    code = MEMORY_SCRIPT.format(root=str(ROOT), extra=estimate + (160 << 20), argv=argv)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    meta = strict_load(tmp_path / "pool" / "pool_metadata.json")
    names = {f["filename"] for f in meta["classes"]["owl"]["files"]}
    if max_memory is None:
        assert res.returncode == 0, res.stderr
        assert {"long_original.wav", "long_aug001_time_stretch.wav"} <= names
    else:
        assert res.returncode == 1, res.stderr
        assert [s["path"] for s in meta["skipped"]] == ["owl/long.wav"]
        reason = meta["skipped"][0]["reason"]
        assert f"needs about {estimate / 1e6:.0f} MB" in reason and "--max-memory 157 MB" in reason
        assert "cut the recording into shorter files" in reason
        assert {"short_original.wav", "short_aug001_time_stretch.wav"} == names
    assert "Traceback" not in res.stderr
    fault_ledger.bad_inputs[STEP] += 1


def _span(item: tuple[str, int]) -> tuple[float, float]:
    start = time.monotonic()
    time.sleep(0.3)
    return start, time.monotonic()


def test_the_two_largest_tasks_never_run_side_by_side_beyond_the_budget(fault_ledger):
    items = [("big1", 60), ("big2", 60), ("small1", 30), ("small2", 30)]
    spans = {o.item[0]: o.result for o in ProcessPool(2, max_memory=100).map(
        _span, items, desc="t", progress=False, memory=lambda item: item[1])}
    (a0, a1), (b0, b1) = spans["big1"], spans["big2"]
    assert a1 <= b0 or b1 <= a0, spans  # 60 + 60 > 100: one after the other
    assert any(s0 < a1 and a0 < s1 for s0, s1 in (spans["small1"], spans["small2"]))  # 60 + 30 fit
    fault_ledger.bad_inputs[STEP] += 1
