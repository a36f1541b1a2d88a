"""--background-noise-class: no val or test sample is mixed with noise from another split's recording."""

from __future__ import annotations

import json
import sqlite3

import pytest

import create_augmented_pool
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.steps.index import IndexOptions, run_index


@pytest.fixture
def noise_pool(tmp_path):
    audio, pool = tmp_path / "audio", tmp_path / "pool"
    for cls, call, n in (("wind", "noise_bursts", 10), ("owl", "hoots", 10), ("frog", "trills", 10)):
        for i in range(n):
            write_recording(audio / cls / f"{cls}{i:02d}.wav", call=call, seconds=0.5, samplerate=8000,
                            seed=i + 100 * len(cls))
    args = ["--audio-root", str(audio), "--output-dir", str(pool), "--target-samples", "30",
            "--augmentations", "background_noise,volume", "--background-noise-class", "wind",
            "--num-workers", "1", "-q"]
    assert create_augmented_pool.main(args) == 0
    return tmp_path, pool


def test_no_val_or_test_sample_is_mixed_with_noise_of_another_split(noise_pool):
    tmp_path, pool = noise_pool
    meta = json.loads((pool / "pool_metadata.json").read_text(encoding="utf-8"))
    noise_of = {f"{c}/{f['filename']}": f"{f['params']['noise_class']}/{f['params']['noise_file']}"
                for c, e in meta["classes"].items() for f in e["files"]
                if f.get("augmentation") == "background_noise"}
    assert len(noise_of) == 3 * 10  # each original's one background_noise augmentation
    assert all(n.startswith("wind/") for n in noise_of.values())
    traded = 0
    for seed in range(12):
        db = tmp_path / f"index{seed}.db"
        report = run_index(pool, db, IndexOptions(seed=seed), run=RunOptions(progress=False))
        traded += any("traded places" in w or "left out" in w for w in report.warnings)
        with sqlite3.connect(db) as con:
            split_of = dict(con.execute("SELECT file_path, split FROM audio_samples"))
        wind_split = {f"wind/{f['source']}": split_of[f"wind/{f['filename']}"]
                      for f in meta["classes"]["wind"]["files"] if f["type"] == "original"}
        for path, split in split_of.items():
            if path in noise_of and split != "train":
                assert wind_split[noise_of[path]] == split, (seed, path)
        assert report.leaking_groups == 0
    assert traded  # conflicts arose and were resolved, not avoided by luck


def test_the_noise_class_must_be_a_class_and_a_noise_folder_must_be_outside_the_root(tmp_path, capsys):
    (tmp_path / "audio" / "owl").mkdir(parents=True)
    write_recording(tmp_path / "audio" / "owl" / "a.wav", call="hoots", seconds=0.5, samplerate=8000)
    base = ["--audio-root", str(tmp_path / "audio"), "--output-dir", str(tmp_path / "pool"), "-q",
            "--augmentations", "background_noise"]
    assert create_augmented_pool.main([*base, "--background-noise-class", "rain"]) == 2
    assert "'rain' is not a class folder" in capsys.readouterr().err
    assert create_augmented_pool.main([*base, "--background-noise-dir", str(tmp_path / "audio" / "owl")]) == 2
    err = capsys.readouterr().err
    assert "is inside the audio root" in err and "val or test split" in err
    assert not (tmp_path / "pool").exists()
