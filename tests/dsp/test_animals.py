"""Animal types: one entry each (ranges and preset); what a bat, insect or frog may get, read back
from the recorded parameters."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from nightscan_common.dsp import augmentations as aug
from nightscan_common.dsp.animals import ANIMAL_RANGES, ANIMALS, DEFAULT_PRESET, PRESETS
from nightscan_common.dsp.spectrogram import SpectrogramConfig

#: The documented bound of the bat, insect and amphibian stretch: a few percent.
FEW_PERCENT = 0.04


def test_one_entry_gives_both_steps_their_view_and_general_is_todays():
    assert list(ANIMAL_RANGES) == list(PRESETS) == list(ANIMALS)
    assert all(ANIMAL_RANGES[n] is a.ranges and PRESETS[n] is a.preset for n, a in ANIMALS.items())
    assert PRESETS[DEFAULT_PRESET] == SpectrogramConfig()
    general = ANIMAL_RANGES["general"]
    assert (general.stretch, general.light_stretch, general.pitch) == ((0.8, 1.25), (0.9, 1.1), (-2.0, 2.0))
    assert general.types == aug.DEFAULT_AUGMENTATIONS


@pytest.mark.parametrize("animal", ["bat", "bat_fm", "insect", "amphibian"])
def test_identifying_features_are_kept_over_many_seeds(animal):
    ranges = ANIMAL_RANGES[animal]
    assert "pitch_shift" not in ranges.types and ranges.pitch is None
    signal = (0.1 * np.random.default_rng(0).standard_normal(4000)).astype(np.float32)
    rates = []
    for seed in range(60):
        for name in ranges.types:
            out, params = aug.apply_augmentation(name, signal, 16000, seed=seed, animal=animal)
            assert "semitones" not in params
            if "rate" in params:
                rates.append(params["rate"])
                assert abs(len(out) - len(signal) / params["rate"]) <= 512
    assert len(rates) == 60 * 2  # time_stretch and combined
    assert max(abs(r - 1.0) for r in rates) <= FEW_PERCENT + 1e-9
    assert max(abs(r - 1.0) for r in rates) > FEW_PERCENT / 4  # the range is drawn from, not pinned


def test_owls_and_birds_get_a_moderate_pitch_shift():
    signal = (0.1 * np.random.default_rng(1).standard_normal(4000)).astype(np.float32)
    shifts = [aug.apply_augmentation("pitch_shift", signal, 16000, seed=s, animal="owl")[1]["semitones"]
              for s in range(30)]
    assert max(map(abs, shifts)) <= 1.0 and "pitch_shift" in ANIMAL_RANGES["bird_song"].types


def test_new_types_record_what_they_applied(tmp_path):
    signal = (0.1 * np.random.default_rng(2).standard_normal(48000)).astype(np.float32)
    out, p = aug.apply_augmentation("gain_wide", signal, 48000, seed=3)
    assert aug.WIDE_GAIN_DB[0] <= p["gain_db"] <= aug.WIDE_GAIN_DB[1]
    np.testing.assert_allclose(out, signal * 10 ** (p["gain_db"] / 20), rtol=1e-5)
    gains = [aug.apply_augmentation("gain_wide", signal, 48000, seed=s)[1]["gain_db"] for s in range(40)]
    assert min(gains) < -6.0 and max(gains) > 0.0  # wider than volume's -6 to 0
    _, p = aug.apply_augmentation("color_noise", signal, 48000, seed=3)
    assert aug.COLOR_NOISE_SNR_DB[0] - 0.5 <= p["snr_db"] <= aug.COLOR_NOISE_SNR_DB[1] + 0.5
    assert aug.COLOR_NOISE_DECAY_DB[0] <= p["f_decay_db"] <= aug.COLOR_NOISE_DECAY_DB[1]
    _, p = aug.apply_augmentation("air_absorption", signal, 48000, seed=3)
    assert aug.AIR_DISTANCE_M[0] <= p["distance_m"] <= aug.AIR_DISTANCE_M[1]
    sf.write(tmp_path / "drop.wav", signal[:4800], 48000)
    long = np.tile(signal, 4)
    out, p = aug.apply_augmentation("short_noises", long, 48000, seed=3, short_noise_dir=str(tmp_path))
    assert p["short_noises"] and {n["noise_file"] for n in p["short_noises"]} == {"drop.wav"}
    lo, hi = aug.SHORT_NOISE_SNR_DB
    assert all(lo <= n["snr_db"] <= hi for n in p["short_noises"])
    assert not np.array_equal(out, long)
