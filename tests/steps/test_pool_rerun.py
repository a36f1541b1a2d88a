"""Step 1 rerun on a changed audio root: the pool equals a fresh build, stale files gone."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pool_helpers import metadata, run_pool, tree_digest, without_timestamps

from nightscan_common.execution.serial import SerialExecutor

OPTS = {"target_samples": 6, "augmentations": ("volume", "noise"), "num_workers": 1}
HIDDEN = ("pool_metadata.json", ".pool_sources.json")


def _clip(path: Path, seed: int, seconds: float = 0.25) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(seed).standard_normal(int(8000 * seconds)) * 0.1
    sf.write(path, noise.astype(np.float32), 8000, subtype="PCM_16")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """owl: 3 recordings (below the target of 6), rain: 8 (above it)."""
    base = tmp_path / "audio"
    for i in range(3):
        _clip(base / "owl" / f"o{i}.wav", seed=i)
    for i in range(8):
        _clip(base / "rain" / f"r{i}.wav", seed=100 + i)
    return base


def _serial(root: Path, out: Path, **kw):
    return run_pool(root, out, **{**OPTS, **kw}, executor=SerialExecutor())


def assert_like_fresh(root: Path, out: Path, **kw) -> None:
    """``out`` holds the bytes a fresh build on ``root`` gives, and no other pool file."""
    fresh = out.parent / f"fresh-{out.name}"
    shutil.rmtree(fresh, ignore_errors=True)
    _serial(root, fresh, **kw)
    assert tree_digest(out, skip=HIDDEN) == tree_digest(fresh, skip=HIDDEN)
    assert without_timestamps(metadata(out)) == without_timestamps(metadata(fresh))
    assert not (out / ".pool_progress.jsonl").exists()


def test_a_recording_added_below_the_target_keeps_most_files(root, tmp_path):
    out = tmp_path / "pool"
    _serial(root, out)
    _clip(root / "owl" / "o3.wav", seed=3)
    report = _serial(root, out)
    assert report.originals_added == ["owl/o3.wav"] and not report.originals_changed
    assert report.reused >= 11 and report.written >= 1 and report.removed >= 1
    assert_like_fresh(root, out)


def test_a_recording_added_above_the_target_keeps_the_others_chosen(root, tmp_path):
    out = tmp_path / "pool"
    _serial(root, out)
    before = {f["filename"] for f in metadata(out)["classes"]["rain"]["files"]}
    _clip(root / "rain" / "r8.wav", seed=108)
    report = _serial(root, out)
    after = {f["filename"] for f in metadata(out)["classes"]["rain"]["files"]}
    assert report.originals_added == ["rain/r8.wav"]
    assert len(before & after) >= 5 and report.written <= 1 and report.removed <= 1
    assert_like_fresh(root, out)


def test_a_recording_removed(root, tmp_path):
    out = tmp_path / "pool"
    _serial(root, out)
    (root / "owl" / "o1.wav").unlink()
    report = _serial(root, out)
    assert report.originals_removed == ["owl/o1.wav"]
    assert not any(n.startswith("o1_") for n in os.listdir(out / "owl"))
    assert_like_fresh(root, out)


def _rewrite_keeping_size_and_mtime(path: Path, seed: int) -> None:
    st = path.stat()
    with sf.SoundFile(path, "r+") as f:  # in place: the same inode, size and length
        f.seek(0)
        f.write((np.random.default_rng(seed).standard_normal(f.frames) * 0.1).astype(np.float32))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_ino == st.st_ino


def test_content_changed_with_size_and_mtime_kept_is_caught_by_verify(root, tmp_path):
    out = tmp_path / "pool"
    _serial(root, out)
    _rewrite_keeping_size_and_mtime(root / "owl" / "o0.wav", seed=77)
    trusted = _serial(root, out)  # size, mtime and inode as recorded: trusted, as documented
    assert trusted.already_complete and trusted.originals_changed == []
    report = _serial(root, out, verify=True)
    assert report.originals_changed == ["owl/o0.wav"] and report.written == 2
    assert_like_fresh(root, out)
    owl = metadata(out)["classes"]["owl"]["files"]
    sha = next(f["sha256"] for f in owl if f["filename"] == "o0_original.wav")
    assert sha == hashlib.sha256((root / "owl" / "o0.wav").read_bytes()).hexdigest()


def test_content_changed_with_a_new_mtime_is_caught_without_verify(root, tmp_path):
    out = tmp_path / "pool"
    _serial(root, out)
    _clip(root / "owl" / "o2.wav", seed=55)
    report = _serial(root, out)
    assert report.originals_changed == ["owl/o2.wav"]
    assert_like_fresh(root, out)


def test_a_recording_moved_between_classes(root, tmp_path):
    out = tmp_path / "pool"
    _serial(root, out)
    os.rename(root / "rain" / "r3.wav", root / "owl" / "r3.wav")
    report = _serial(root, out)
    assert report.originals_added == ["owl/r3.wav"] and report.originals_removed == ["rain/r3.wav"]
    assert_like_fresh(root, out)


def test_a_class_that_disappeared_leaves_the_pool(root, tmp_path):
    out = tmp_path / "pool"
    _serial(root, out)
    (out / "rain" / "notes.txt").write_text("mine")  # not a pool name: never removed
    shutil.rmtree(root / "rain")
    report = _serial(root, out)
    assert "rain" not in metadata(out)["classes"] and report.removed == 6
    assert os.listdir(out / "rain") == ["notes.txt"]
    (out / "rain" / "notes.txt").unlink()
    (out / "rain").rmdir()
    assert_like_fresh(root, out)


def test_a_changed_noise_folder_remakes_the_noise_augmentations_only(root, tmp_path):
    noise = tmp_path / "noise"
    for i in range(2):
        _clip(noise / f"n{i}.wav", seed=500 + i, seconds=0.5)
    out = tmp_path / "pool"
    kw = {"augmentations": ("background_noise", "volume"), "background_noise_dir": noise, "target_samples": 9}
    _serial(root, out, **kw)
    volume = {f: (out / "owl" / f).stat().st_mtime_ns for f in os.listdir(out / "owl") if "volume" in f}
    _clip(noise / "n1.wav", seed=999, seconds=0.5)
    report = _serial(root, out, **kw)
    files = [f for e in metadata(out)["classes"].values() for f in e["files"]]
    mixed = sum(f.get("augmentation") == "background_noise" for f in files)
    assert mixed >= 3 and report.written == mixed and report.reused == len(files) - mixed
    assert volume and all("volume" in f for f in volume)
    assert {f: (out / "owl" / f).stat().st_mtime_ns for f in volume} == volume  # untouched
    assert_like_fresh(root, out, **kw)


def test_overwrite_rebuilds_from_scratch_whatever_the_state(root, tmp_path):
    out = tmp_path / "pool"
    _serial(root, out)
    (out / "owl" / "zz_aug001_volume.wav").write_bytes(b"stale")
    (out / "owl" / "o0_original.wav").write_bytes(b"damaged")
    report = _serial(root, out, overwrite=True)
    assert report.reused == 0 and not report.already_complete
    assert_like_fresh(root, out)


def test_an_interrupted_rerun_on_a_changed_root_is_finished_by_the_next(root, tmp_path, monkeypatch):
    out = tmp_path / "pool"
    run_pool(root, out, **{**OPTS, "num_workers": 2})
    _clip(root / "owl" / "o3.wav", seed=3)
    _clip(root / "owl" / "o0.wav", seed=33)

    class Stopping(SerialExecutor):
        def map(self, func, items, **kw):
            for n, outcome in enumerate(super().map(func, items, **kw)):
                if kw.get("desc") == "writing pool" and n == 1:
                    raise KeyboardInterrupt
                yield outcome

    with pytest.raises(KeyboardInterrupt):
        run_pool(root, out, **OPTS, executor=Stopping())
    report = _serial(root, out)
    assert report.originals_changed == ["owl/o0.wav"] or report.reused > 0
    assert_like_fresh(root, out)


def test_a_recording_replaced_while_the_run_reads_it_fails_and_a_rerun_takes_it(root, tmp_path,
                                                                             monkeypatch):
    from nightscan_common.steps import pool_worker

    real_place = pool_worker._place_original

    def replaced_meanwhile(source, target, link_mode):
        if source.endswith("o1.wav") and not getattr(replaced_meanwhile, "done", False):
            replaced_meanwhile.done = True
            _clip(Path(source), seed=4242)  # a new take copied over it, after the check
        real_place(source, target, link_mode)

    monkeypatch.setattr(pool_worker, "_place_original", replaced_meanwhile)
    out = tmp_path / "pool"
    report = _serial(root, out)
    (failed,) = report.failed_tasks
    assert failed.path == "owl/o1.wav" and "changed while the run read it" in failed.reason
    assert report.status == 1 and not any(n.startswith("o1_") for n in os.listdir(out / "owl"))
    again = _serial(root, out)
    assert again.status == 0 and again.originals_changed == ["owl/o1.wav"]
    assert_like_fresh(root, out)
