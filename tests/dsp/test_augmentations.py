"""Augmentation types: reproducible, parameters read back in user units, ranges honoured."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import soundfile as sf
from audiomentations import Gain, PolarityInversion
from pool_helpers import metadata, run_pool

from nightscan_common.dsp import augmentations as aug
from nightscan_common.dsp.augmentation_steps import Step, draw_gain
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.errors import NoiseFileError, UsageError
from nightscan_common.execution.serial import SerialExecutor
from nightscan_common.steps.pool_worker import (
    DECODE_BYTES_PER_FRAME_AND_CHANNEL,
    TASK_BASE_BYTES,
    task_memory,
)


@pytest.fixture
def signal(rng):
    return (0.2 * rng.standard_normal(16000)).astype(np.float32)


@pytest.mark.parametrize("name", list(aug.AUGMENTATION_TYPES))
def test_same_seed_same_output_other_seed_other_output(name, signal, tmp_path):
    write_recording(tmp_path / "bg" / "rain.wav", call="noise_bursts", seconds=2.0, samplerate=16000)
    write_recording(tmp_path / "short" / "drop.wav", call="noise_bursts", seconds=0.3, samplerate=16000)
    dirs = {"background_dir": str(tmp_path / "bg"), "short_noise_dir": str(tmp_path / "short")}
    long_signal = np.tile(signal, 4)  # 4 s: short noises come every 0.5 to 3 s
    a, pa = aug.apply_augmentation(name, long_signal, 16000, seed=1, **dirs)
    b, pb = aug.apply_augmentation(name, long_signal, 16000, seed=1, **dirs)
    c, _ = aug.apply_augmentation(name, long_signal, 16000, seed=2, **dirs)
    signal = long_signal
    assert a.dtype == np.float32 and np.array_equal(a, b) and pa == pb
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[: len(signal)], signal[: len(a)])


@pytest.mark.parametrize("name", list(aug.AUGMENTATION_TYPES))
def test_no_type_reads_or_moves_the_global_rngs(name, signal, tmp_path):
    """Every draw comes from the task's own generator: the global ones are left as they were."""
    write_recording(tmp_path / "bg" / "rain.wav", call="noise_bursts", seconds=2.0, samplerate=16000)
    write_recording(tmp_path / "short" / "drop.wav", call="noise_bursts", seconds=0.3, samplerate=16000)
    dirs = {"background_dir": str(tmp_path / "bg"), "short_noise_dir": str(tmp_path / "short")}
    random.seed(1)
    np.random.seed(1)
    first, _ = aug.apply_augmentation(name, np.tile(signal, 4), 16000, seed=3, **dirs)
    untouched = (random.Random(1).random(), np.random.RandomState(1).random_sample())
    assert (random.random(), np.random.random()) == untouched
    random.seed(2)
    np.random.seed(2)
    again, _ = aug.apply_augmentation(name, np.tile(signal, 4), 16000, seed=3, **dirs)
    assert np.array_equal(first, again)


def test_recorded_parameters_are_in_user_units_and_in_range(signal):
    for seed in range(20):
        _, p = aug.apply_augmentation("noise", signal, 16000, seed=seed)
        assert aug.NOISE_SNR_DB[0] <= p["snr_db"] <= aug.NOISE_SNR_DB[1]
        out, p = aug.apply_augmentation("volume", signal, 16000, seed=seed)
        assert aug.VOLUME_GAIN_DB[0] <= p["gain_db"] <= aug.VOLUME_GAIN_DB[1]
        np.testing.assert_allclose(out, signal * 10 ** (p["gain_db"] / 20), rtol=1e-5)
        _, p = aug.apply_augmentation("combined", signal, 16000, seed=seed)
        assert aug.COMBINED_RATE[0] <= p["rate"] <= aug.COMBINED_RATE[1]
        assert aug.COMBINED_SNR_DB[0] <= p["snr_db"] <= aug.COMBINED_SNR_DB[1]


@pytest.mark.parametrize("name", ["noise", "background_noise"])
def test_noise_on_silence_is_recorded_as_having_no_effect(name, tmp_path):
    """Noise relative to a silent input's level is none: no SNR, no noise file is claimed."""
    write_recording(tmp_path / "bg" / "wind.wav", call="noise_bursts", seconds=2.0, samplerate=16000)
    out, p = aug.apply_augmentation(name, np.zeros(1000, dtype=np.float32), 16000, seed=0,
                                    background_dir=str(tmp_path / "bg"))
    assert p == {"no_effect": "the input is silent: noise relative to its level is none"} and not out.any()


@pytest.mark.filterwarnings("ignore:PySoundFile failed")
def test_only_the_checked_noise_files_are_drawn_and_a_failing_one_is_named(signal, tmp_path):
    bg = tmp_path / "bg"
    write_recording(bg / "wind.caf", call="noise_bursts", seconds=2.0, samplerate=16000)
    write_recording(bg / "rain.wav", call="noise_bursts", seconds=2.0, samplerate=16000, seed=1)
    for seed in range(6):  # .caf is not among audiomentations' extensions: given, it is drawn
        _, p = aug.apply_augmentation("background_noise", signal, 16000, seed=seed, background_dir=str(bg),
                                      background_files=("wind.caf",))
        assert p["noise_file"] == "wind.caf"
    (bg / "gone").mkdir()
    write_recording(bg / "gone" / "x.wav", call="noise_bursts", seconds=2.0, samplerate=16000)
    (bg / "gone" / "x.wav").write_bytes(b"RIFF")  # broken after the up-front check
    with pytest.raises(NoiseFileError, match=r"^noise file gone/x.wav of --background-noise-dir failed: "):
        aug.apply_augmentation("background_noise", signal, 16000, seed=0, background_dir=str(bg),
                               background_files=("gone/x.wav",))


def test_parse_augmentation_list():
    assert aug.parse_augmentation_list("noise, volume") == ("noise", "volume")
    assert aug.DEFAULT_AUGMENTATIONS == ("time_stretch", "noise", "volume", "combined")
    for bad, message in [("", "empty"), ("noise,echo", "unknown augmentation 'echo'"),
                         ("noise,noise", "twice")]:
        with pytest.raises(UsageError, match=message):
            aug.parse_augmentation_list(bad)


# ---------------------------------------------------------------- the registry: one entry per type

INVERT = aug.AugmentationType(
    name="invert", summary="PolarityInversion, then Gain -3 to -1 dB", bytes_per_frame=40,
    steps=(Step(name="invert", build=lambda _r, _dir: PolarityInversion(p=1.0), draw=lambda _t, _rng, _x,
                _sr: None,
                    record=lambda _p, _x, _sr, _root: {"inverted": True}),
           Step(name="quieter", build=lambda _r, _dir: Gain(min_gain_db=-3.0, max_gain_db=-1.0, p=1.0),
                    draw=draw_gain, record=lambda p, _x, _sr, _root: {"gain_db": p["gain_db"]})))


@pytest.fixture
def invert_registered():
    aug.register(INVERT)
    yield INVERT
    del aug.AUGMENTATION_TYPES[INVERT.name]


def test_a_type_added_in_one_entry_is_planned_applied_recorded_costed_and_listed(
        invert_registered, make_audio_root, tmp_path):
    root = make_audio_root({"owl": 2}, seconds=0.5)
    report = run_pool(root, tmp_path / "pool", target_samples=6, augmentations=("invert", "volume"),
                      executor=SerialExecutor())
    task = report.plans[0].tasks[0]
    assert sorted(a.augmentation for t in report.plans[0].tasks for a in t.augmentations) == \
        ["invert", "invert", "volume", "volume"]  # planned, spread evenly with the others
    files = {f["filename"]: f for f in metadata(tmp_path / "pool")["classes"]["owl"]["files"]}
    made = [f for f in files.values() if f.get("augmentation") == "invert"]
    assert len(made) == 2
    for f in made:  # applied and recorded
        assert f["params"]["inverted"] is True and -3.0 <= f["params"]["gain_db"] <= -1.0
        original, _ = sf.read(root / "owl" / f["source"], dtype="float32")
        inverted, _ = sf.read(tmp_path / "pool" / "owl" / f["filename"], dtype="float32")
        np.testing.assert_allclose(inverted, -original * 10 ** (f["params"]["gain_db"] / 20), atol=1e-4)
    frames = 48000  # costed by --max-memory: its bytes per frame, not another type's
    alone = dataclasses.replace(task, augmentations=tuple(a for a in task.augmentations
                                                          if a.augmentation == "invert"))
    assert task_memory(alone, frames=frames, channels=1) == \
        TASK_BASE_BYTES + frames * (DECODE_BYTES_PER_FRAME_AND_CHANNEL + 40)
    assert "| `invert` | PolarityInversion, then Gain -3 to -1 dB | opt-in | - | no | 40 B |" in \
        aug.augmentation_table_markdown()  # listed
    assert aug.parse_augmentation_list("invert,noise") == ("invert", "noise")


def test_every_type_has_what_the_toolkit_needs_of_it():
    """Memory per frame for --max-memory (four types lacked it), numba, the folder it reads."""
    for kind in aug.AUGMENTATION_TYPES.values():
        assert kind.bytes_per_frame > 0 and kind.steps
    kinds = aug.AUGMENTATION_TYPES
    assert {n for n, k in kinds.items() if k.needs_numba} == {"time_stretch", "combined", "pitch_shift"}
    assert aug.noise_folder_options() == {"background_noise": "--background-noise-dir",
                                          "short_noises": "--short-noise-dir"}
    assert kinds["gain_wide"].bytes_per_frame == kinds["volume"].bytes_per_frame
    assert kinds["air_absorption"].bytes_per_frame > kinds["time_stretch"].bytes_per_frame
    with pytest.raises(ValueError, match="registered already"):
        aug.register(kinds["noise"])
