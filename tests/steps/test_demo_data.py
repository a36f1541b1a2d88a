"""The demo data set: its promised shape, its determinism, and how it treats an existing folder."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import make_demo_data
from nightscan_common.dsp.synthetic import drone
from nightscan_common.errors import OutputConflictError, UsageError
from nightscan_common.io.atomic_write import TEMP_SUFFIX
from nightscan_common.steps import demo_data
from nightscan_common.steps.demo_data import (
    DEMO_CLASSES,
    MANIFEST_FILENAME,
    MIN_RECORDINGS,
    check_scale,
    plan_demo,
    read_manifest,
)

make = demo_data.make_demo_data  # the logic (make_demo_data is the front end's module)
SMALL = 0.05  # 3 recordings per class (8 for pipistrellus): enough to show every variant


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(TEMP_SUFFIX)]


# ---------------------------------------------------------------- the plan (nothing written)


def test_full_plan_is_imbalanced_like_real_data():
    counts = Counter(r.class_name for r in plan_demo())
    assert len(counts) >= 5
    assert min(counts.values()) == 6 and max(counts.values()) == 150
    assert all(6 <= n <= 150 for n in counts.values())
    assert len({dc.call for dc in DEMO_CLASSES}) == len(DEMO_CLASSES), "each class has its own call"


def test_full_plan_mixes_rates_channels_lengths_formats_and_folders():
    plan = plan_demo()
    rates = {r.samplerate for r in plan}
    assert min(rates) == 8000 and max(rates) == 48000 and len(rates) >= 5
    assert any(r.channels == 2 for r in plan)
    assert any(r.seconds > 8 for r in plan)
    assert {Path(r.path).suffix.lower() for r in plan} == {".wav", ".flac"}
    assert any(r.path.count("/") >= 2 for r in plan), "some recordings are in night sub-folders"
    assert any(r.path.count("/") == 1 for r in plan), "some are in the class folder itself"
    assert len({r.path for r in plan}) == len(plan)


@pytest.mark.parametrize("scale", [SMALL, 0.2])
def test_a_reduced_plan_keeps_the_variety(scale):
    plan = plan_demo(scale=scale)
    counts = Counter(r.class_name for r in plan)
    assert set(counts) == {dc.name for dc in DEMO_CLASSES}
    assert min(counts.values()) >= MIN_RECORDINGS
    assert any(r.channels == 2 for r in plan) and any(r.seconds > 8 for r in plan)
    assert {8000, 48000} <= {r.samplerate for r in plan}


def test_plan_depends_on_the_seed_only():
    assert plan_demo(seed=7, scale=SMALL) == plan_demo(seed=7, scale=SMALL)
    assert plan_demo(seed=7, scale=SMALL) != plan_demo(seed=8, scale=SMALL)


@pytest.mark.parametrize("scale", [0, -1, 10.5, float("nan")])
def test_bad_scale_is_refused(scale):
    with pytest.raises(UsageError, match="--scale"):
        check_scale(scale)


def test_drone_is_a_low_aircraft_like_sound():
    x = drone(3.0, 16000, np.random.default_rng(3))
    assert x.dtype == np.float32 and len(x) == 48000 and np.abs(x).max() <= 1.0
    spectrum = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / 16000)
    assert spectrum[freqs < 1000].sum() > 0.8 * spectrum.sum()
    assert np.array_equal(x, drone(3.0, 16000, np.random.default_rng(3)))


# ---------------------------------------------------------------- the files


def test_written_files_are_what_the_manifest_says(tmp_path):
    out = tmp_path / "demo"
    report = make(out, scale=SMALL)
    assert report.written
    manifest = read_manifest(out)
    plan = plan_demo(scale=SMALL)
    listed = {f["path"]: f for c in manifest["classes"].values() for f in c["files"]}
    assert sorted(listed) == sorted(r.path for r in plan)
    for rec in plan:
        info = sf.info(str(out / rec.path))
        assert (info.samplerate, info.channels) == (rec.samplerate, rec.channels)
        assert info.frames == round(rec.seconds * rec.samplerate)
        assert listed[rec.path]["bytes"] == (out / rec.path).stat().st_size
    assert (out / "gryllus" / "20240712" / "CONFIG.TXT").is_file()
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == sorted(dc.name for dc in DEMO_CLASSES)
    assert not _temporaries(tmp_path)


def test_one_seed_gives_the_same_bytes(tmp_path):
    make(tmp_path / "a", seed=5, scale=SMALL)
    make(tmp_path / "b", seed=5, scale=SMALL)
    make(tmp_path / "c", seed=6, scale=SMALL)
    a, b, c = (_files(tmp_path / n) for n in "abc")
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_rerun_with_the_same_options_changes_nothing(tmp_path):
    out = tmp_path / "demo"
    make(out, scale=SMALL)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    report = make(out, scale=SMALL)
    assert not report.written
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == before


def test_a_damaged_demo_set_is_made_again(tmp_path):
    out = tmp_path / "demo"
    make(out, scale=SMALL)
    victim = next(out.glob("hyla/*.wav"))
    victim.unlink()
    assert make(out, scale=SMALL).written
    assert victim.is_file()


def test_other_options_need_overwrite(tmp_path):
    out = tmp_path / "demo"
    make(out, seed=1, scale=SMALL)
    with pytest.raises(OutputConflictError, match="seed 1.*--overwrite"):
        make(out, seed=2, scale=SMALL)
    make(out, seed=2, scale=SMALL, overwrite=True)
    assert read_manifest(out)["params"] == {"seed": 2, "scale": SMALL}
    assert _files(out) == _files(make(tmp_path / "fresh", seed=2, scale=SMALL).output_dir)
    assert not _temporaries(tmp_path)


def test_a_file_the_manifest_does_not_list_needs_overwrite(tmp_path):
    out = tmp_path / "demo"
    make(out, scale=SMALL)
    (out / "rain" / "mine.wav").write_bytes(b"not ours")
    with pytest.raises(OutputConflictError, match="rain/mine.wav"):
        make(out, scale=SMALL)


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_folder_that_is_not_a_demo_set_is_never_touched(tmp_path, overwrite):
    out = tmp_path / "recordings"
    (out / "owl").mkdir(parents=True)
    (out / "owl" / "precious.wav").write_bytes(b"field work")
    with pytest.raises(UsageError, match="not a demo data set"):
        make(out, scale=SMALL, overwrite=overwrite)
    assert _files(out) == {"owl/precious.wav": b"field work"}


def test_an_empty_folder_is_filled(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    assert make(out, scale=SMALL).written
    assert (out / MANIFEST_FILENAME).is_file()


def test_an_interrupted_run_leaves_nothing_under_the_final_name(tmp_path, monkeypatch):
    calls = []

    def dying_writer(path, **kwargs):
        calls.append(path)
        if len(calls) == 5:
            raise KeyboardInterrupt
        real_writer(path, **kwargs)

    real_writer = demo_data.write_recording
    monkeypatch.setattr(demo_data, "write_recording", dying_writer)
    with pytest.raises(KeyboardInterrupt):
        make(tmp_path / "demo", scale=SMALL)
    assert not (tmp_path / "demo").exists()
    assert not _temporaries(tmp_path)


def test_a_killed_run_s_temporary_folder_is_swept(tmp_path):
    stale = tmp_path / f".demo.abc123{TEMP_SUFFIX}"
    (stale / "owl").mkdir(parents=True)
    make(tmp_path / "demo", scale=SMALL)
    assert not stale.exists()


def test_the_folder_gets_the_usual_permissions(tmp_path):
    out = tmp_path / "demo"
    make(out, scale=SMALL)
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask


# ---------------------------------------------------------------- the front end


def test_cli_writes_and_prints_the_table(tmp_path, capsys):
    assert make_demo_data.main(["--output-dir", str(tmp_path / "d"), "--scale", str(SMALL), "-q"]) == 0
    out = capsys.readouterr().out
    assert all(dc.name in out for dc in DEMO_CLASSES)
    assert "written" in out
    assert make_demo_data.main(["--output-dir", str(tmp_path / "d"), "--scale", str(SMALL), "-q"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_cli_refuses_a_folder_that_is_not_a_demo_set_in_one_line(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "a.wav").write_bytes(b"x")
    assert make_demo_data.main(["--output-dir", str(tmp_path / "mine"), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


@pytest.mark.parametrize("scale", ["0", "abc", "11"])
def test_cli_refuses_a_bad_scale(tmp_path, scale, capsys):
    with pytest.raises(SystemExit) as exc:
        make_demo_data.main(["--output-dir", str(tmp_path / "d"), "--scale", scale])
    assert exc.value.code == 2
    assert "--scale" in capsys.readouterr().err
