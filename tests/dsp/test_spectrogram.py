"""SpectrogramConfig, its presets and validation, and the log-mel computation."""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest
import scipy.signal

from nightscan_common.dsp.animals import PRESETS
from nightscan_common.dsp.spectrogram import SpectrogramConfig, hann_window, log_mel_spectrogram, mel_basis
from nightscan_common.errors import UsageError

GENERAL = PRESETS["general"]

#: Shapes the presets document (centered frames: 1 + samples // hop).
PRESET_SHAPES = {
    "general": (128, 345), "bat": (256, 3001), "owl": (128, 251), "bird_song": (128, 345),
    "mammal": (128, 345), "amphibian": (128, 251), "insect": (128, 690), "bat_fm": (96, 4001),
}


def _signal(rng, config: SpectrogramConfig, seconds: float | None = None) -> np.ndarray:
    n = config.n_samples if seconds is None else int(seconds * config.sample_rate)
    t = np.arange(n) / config.sample_rate
    tone = 0.3 * np.sin(2 * np.pi * 1000 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    return (tone + 0.01 * rng.standard_normal(n)).astype(np.float32)


def test_the_defaults_are_the_general_preset():
    assert SpectrogramConfig() == GENERAL
    assert (GENERAL.sample_rate, GENERAL.n_fft, GENERAL.hop_length, GENERAL.n_mels) == (22050, 2048, 512, 128)
    assert (GENERAL.fmin, GENERAL.fmax, GENERAL.duration, GENERAL.top_db) == (50, 11000, 8, 80)
    assert (GENERAL.crop, GENERAL.channels, GENERAL.dtype) == ("start", 1, "float32")


def test_presets_carry_nightscans_bands():
    bands = {name: (c.sample_rate, c.fmin, c.fmax, c.n_mels) for name, c in PRESETS.items()}
    assert bands == {
        "general": (22050, 50, 11000, 128), "bat": (192000, 15000, 96000, 256),
        "bat_fm": (192000, 15000, 96000, 96),
        "owl": (16000, 200, 4000, 128), "bird_song": (22050, 1000, 8000, 128),
        "mammal": (22050, 100, 5000, 128), "amphibian": (16000, 200, 5000, 128),
        "insect": (44100, 2000, 15000, 128),
    }
    assert all((c.n_fft, c.hop_length, c.duration, c.top_db) == (2048, 512, 8, 80)
               for name, c in PRESETS.items() if name != "bat_fm")
    fm = PRESETS["bat_fm"]  # a 2 ms window and a 0.5 ms hop: an FM sweep keeps its shape
    assert (fm.n_fft, fm.hop_length, fm.duration, fm.top_db) == (384, 96, 2, 80)


@pytest.mark.parametrize("name", sorted(PRESET_SHAPES))
def test_each_preset_is_valid_and_gives_its_documented_shape(name, rng):
    config = PRESETS[name].validate()
    spec = log_mel_spectrogram(_signal(rng, config, seconds=1.0), config)
    assert spec.shape == config.shape == PRESET_SHAPES[name]
    assert spec.dtype == np.float32 and np.isfinite(spec).all()


@pytest.mark.parametrize("top_db, silent_half", [(80.0, False), (40.0, True)])
def test_matches_librosa_melspectrogram_power_to_db_and_standardisation(rng, top_db, silent_half):
    y = _signal(rng, GENERAL)
    if silent_half:  # a silent half reaches the top_db floor
        y[: len(y) // 2] = 0.0
    mel = librosa.feature.melspectrogram(y=y, sr=22050, n_fft=2048, hop_length=512, n_mels=128,
                                         fmin=50, fmax=11000)
    db = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=top_db)
    expected = (db - db.mean()) / (db.std() + 1e-6)
    ours = log_mel_spectrogram(y, GENERAL.replace(top_db=top_db))
    assert ours.shape == (128, 345) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=0)


def test_standardised_output_has_zero_mean_unit_std(rng):
    spec = log_mel_spectrogram(_signal(rng, GENERAL), GENERAL)
    assert abs(float(spec.mean())) < 1e-4
    assert abs(float(spec.std()) - 1.0) < 1e-4


def test_three_channels_stack_identical_copies_and_float16_casts_last(rng):
    y = _signal(rng, GENERAL)
    one = log_mel_spectrogram(y, GENERAL)
    three = log_mel_spectrogram(y, GENERAL.replace(channels=3))
    assert three.shape == (3, 128, 345) and three.dtype == np.float32
    assert all(np.array_equal(c, one) for c in three)
    half = log_mel_spectrogram(y, GENERAL.replace(dtype="float16"))
    assert half.dtype == np.float16 and half.shape == (128, 345)
    np.testing.assert_array_equal(half, one.astype(np.float16))


def test_short_input_is_zero_padded_and_long_input_cut(rng):
    y = _signal(rng, GENERAL, seconds=10.0)
    n = GENERAL.n_samples
    np.testing.assert_array_equal(log_mel_spectrogram(y, GENERAL), log_mel_spectrogram(y[:n], GENERAL))
    short = y[: 2 * 22050]
    padded = np.concatenate([short, np.zeros(n - len(short), np.float32)])
    np.testing.assert_array_equal(log_mel_spectrogram(short, GENERAL), log_mel_spectrogram(padded, GENERAL))


def test_silence_gives_zeros_not_nan():
    spec = log_mel_spectrogram(np.zeros(22050, np.float32), GENERAL)
    assert np.isfinite(spec).all() and not spec.any()


def test_the_input_is_not_modified(rng):
    y = _signal(rng, GENERAL)
    before = y.copy()
    log_mel_spectrogram(y, GENERAL)
    np.testing.assert_array_equal(y, before)


def test_window_and_filter_bank_are_librosas_and_built_once():
    np.testing.assert_allclose(hann_window(2048), scipy.signal.get_window("hann", 2048, fftbins=True),
                               atol=1e-7)
    expected = librosa.filters.mel(sr=22050, n_fft=2048, n_mels=128, fmin=50, fmax=11000)
    np.testing.assert_array_equal(mel_basis(GENERAL), expected)
    assert mel_basis(GENERAL) is mel_basis(GENERAL.replace(crop="loudest", dtype="float16"))
    assert hann_window(2048) is hann_window(2048)
    with pytest.raises(ValueError):
        mel_basis(GENERAL)[0, 0] = 1.0  # cached arrays are read-only


def test_to_dict_from_dict_round_trip():
    config = PRESETS["bat"].replace(crop="loudest", channels=3, dtype="float16")
    data = config.to_dict()
    assert set(data) == {f.name for f in dataclasses.fields(SpectrogramConfig)}
    assert SpectrogramConfig.from_dict(data) == config
    assert SpectrogramConfig.from_dict({"n_mels": 64}) == GENERAL.replace(n_mels=64)


def test_from_dict_refuses_unknown_parameters():
    with pytest.raises(UsageError, match="unknown spectrogram parameter.*window_size"):
        SpectrogramConfig.from_dict({**GENERAL.to_dict(), "window_size": 3})


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        GENERAL.n_mels = 64  # type: ignore[misc]


@pytest.mark.parametrize("changes, message", [
    ({"fmax": 20000.0}, "fmax 20000 Hz is above the Nyquist frequency 11025 Hz"),
    ({"fmin": 11000.0}, r"fmin \(11000 Hz\) must be below fmax \(11000 Hz\)"),
    ({"fmin": -5.0}, "fmin must be 0 Hz or more, got -5"),
    ({"n_fft": 256}, r"n_fft \(256\) must be at least hop_length \(512\)"),
    ({"n_mels": 0}, "n_mels must be a whole number of at least 1, got 0"),
    ({"sample_rate": -22050}, "sample_rate must be a whole number of at least 1, got -22050"),
    ({"hop_length": 1.5}, "hop_length must be a whole number of at least 1, got 1.5"),
    ({"duration": 0.0}, "duration must be above 0 s, got 0"),
    ({"duration": 0.05}, "duration 0.05 s gives 1102 samples at 22050 Hz, fewer than n_fft 2048"),
    ({"top_db": -80.0}, "top_db must be above 0 dB, got -80"),
    ({"top_db": float("nan")}, "top_db must be a finite number, got nan"),
    ({"crop": "middle"}, "crop must be one of start, center, loudest, got 'middle'"),
    ({"channels": 2}, "channels must be 1 or 3, got 2"),
    ({"dtype": "float64"}, "dtype must be one of float32, float16, got 'float64'"),
    ({"n_mels": 1024}, "of the n_mels 1024 mel bands between 50 and 11000 Hz hold no FFT bin"),
])
def test_validate_names_the_bad_value(changes, message):
    with pytest.raises(UsageError, match=message):
        dataclasses.replace(GENERAL, **changes).validate()


def test_nightscans_bat_band_above_nyquist_is_refused():
    with pytest.raises(UsageError, match="fmax 100000 Hz is above the Nyquist frequency 96000 Hz"):
        PRESETS["bat"].replace(fmax=100000.0).validate()
