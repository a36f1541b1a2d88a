"""The hand-written phase vocoder against librosa's: the same bytes on every kind of signal."""

from __future__ import annotations

import audiomentations
import librosa
import numpy as np
import pytest

from nightscan_common.dsp import phase_vocoder as pv
from nightscan_common.dsp.augmentations import apply_augmentation
from nightscan_common.dsp.phase_vocoder import phase_vocoder, time_stretch
from nightscan_common.dsp.synthetic import song

SIGNALS = {
    "song": lambda sr, rng: song(3.0, sr, rng),
    "quiet noise": lambda sr, rng: 1e-4 * rng.standard_normal(2 * sr),
    "clipped": lambda sr, rng: np.clip(8 * song(2.0, sr, rng), -1, 1),
    "silence": lambda sr, _rng: np.zeros(sr),
    "dc and a click": lambda sr, _rng: np.r_[np.full(sr, 0.3), [1.0], np.full(sr // 2, -0.2)],
    "shorter than a frame": lambda sr, rng: song(0.04, sr, rng),
}


@pytest.mark.parametrize("kind", SIGNALS)
@pytest.mark.parametrize("samplerate", [8000, 44100])
def test_time_stretch_gives_librosas_bytes(rng, kind, samplerate):
    x = SIGNALS[kind](samplerate, rng).astype(np.float32)
    for rate in (0.8, 0.9137, 1.0, 1.25):
        ours = time_stretch(x, rate=rate)
        theirs = librosa.effects.time_stretch(x, rate=rate)
        assert ours.dtype == theirs.dtype and ours.tobytes() == theirs.tobytes(), (kind, rate)


def test_phase_vocoder_gives_librosas_array(rng):
    stft = librosa.stft(song(2.0, 22050, rng).astype(np.float32))
    ours = phase_vocoder(stft, rate=1.1)
    theirs = librosa.phase_vocoder(stft, rate=1.1)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("name", ["time_stretch", "combined"])
def test_the_stretching_types_give_audiomentations_bytes(monkeypatch, rng, name):
    """A pool type through the fast path, then with audiomentations' TimeStretch in its place."""
    x = song(4.0, 44100, rng).astype(np.float32)
    rates = []
    monkeypatch.setattr(pv, "time_stretch",
                        lambda samples, *, rate: rates.append(rate) or time_stretch(samples, rate=rate))
    fast, params = apply_augmentation(name, x, 44100, seed=7)
    assert len(rates) == 1

    def through_audiomentations(samples: np.ndarray, *, rate: float) -> np.ndarray:
        transform = audiomentations.TimeStretch(min_rate=rate, max_rate=rate, leave_length_unchanged=False,
                                                method="librosa_phase_vocoder", p=1.0)
        transform.parameters.update(rate=rate, should_apply=True)
        transform.freeze_parameters()
        return transform(samples, 44100)

    monkeypatch.setattr(pv, "time_stretch", through_audiomentations)
    library, library_params = apply_augmentation(name, x, 44100, seed=7)
    assert params == library_params
    assert fast.tobytes() == library.tobytes()
