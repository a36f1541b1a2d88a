"""Step 3's windows: loudest within the band, --pad repeat, windows.json, the bat presets' rate warning."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
from spectrogram_helpers import write_index

from nightscan_common.dsp.animals import PRESETS
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.formats.window_manifest import WINDOWS_FILENAME
from nightscan_common.io.audio_window import read_window_choice
from nightscan_common.steps.spectrograms import run_spectrograms

SR = 16000


def _tone(seconds: float, freq: float, amp: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_loudest_in_band_picks_the_in_band_tone_over_a_louder_one_outside(tmp_path):
    # 30 s: a loud 100 Hz hum at 5 s, a quieter 3 kHz call at 20 s; the owl band is 200-4000 Hz.
    x = np.zeros(30 * SR, dtype=np.float32)
    x[5 * SR: 7 * SR] = _tone(2, 100.0, 0.9)
    x[20 * SR: 22 * SR] = _tone(2, 3000.0, 0.1)
    sf.write(tmp_path / "a.wav", x, SR)
    owl = PRESETS["owl"]
    kw = dict(sample_rate=SR, n_samples=4 * SR, crop="loudest", hop_length=owl.hop_length)
    _, broadband = read_window_choice(tmp_path / "a.wav", **kw)
    window, in_band = read_window_choice(tmp_path / "a.wav", band=(owl.fmin, owl.fmax), **kw)
    assert broadband.start <= 5 * SR < broadband.start + 4 * SR  # the hum wins over all frequencies
    assert in_band.start <= 20 * SR and 22 * SR <= in_band.start + 4 * SR  # the call wins in band
    np.testing.assert_allclose(window, x[in_band.start: in_band.start + 4 * SR], atol=2 ** -15)  # PCM_16


def _one_file_run(tmp_path, samples, sr, config, name="c/x_original.wav"):
    pool = tmp_path / "pool"
    (pool / name).parent.mkdir(parents=True)
    sf.write(pool / name, samples, sr)
    db = write_index(tmp_path / "index.db", [(name, name.split("/")[0], "train")])
    out = tmp_path / "out"
    report = run_spectrograms(db, pool, out, config, run=RunOptions(num_workers=1, progress=False),
                              preset="bat" if config.sample_rate == 192000 else None)
    spec = np.load(out / "train" / "c" / "x_original.npy")
    return report, spec, json.loads((out / WINDOWS_FILENAME).read_text(encoding="utf-8"))


def test_pad_repeat_gives_no_padded_frames_for_a_2_s_clip(tmp_path):
    clip = _tone(2, 1000.0, 0.3) * (1 + np.sin(np.arange(2 * SR) / SR * 7)).astype(np.float32)
    config = PRESETS["owl"]
    _, zero_spec, zero_windows = _one_file_run(tmp_path / "zero", clip, SR, config)
    _, spec, windows = _one_file_run(tmp_path / "repeat", clip, SR, config.replace(pad="repeat"))
    key = "train/c/x_original"
    zero_entry, entry = zero_windows["windows"][key], windows["windows"][key]
    assert zero_entry["silent_padding_samples"] == 6 * SR and entry["silent_padding_samples"] == 0
    assert entry["padded_samples"] == 6 * SR and windows["pad"] == "repeat"
    floor = zero_spec.min()
    silent_frames = (zero_spec == floor).all(axis=0)
    assert silent_frames.sum() > 0.7 * zero_spec.shape[1]  # 6 of 8 s are padding
    assert not (spec == spec.min()).all(axis=0).any()  # no frame is padding


def test_windows_json_records_every_offset_and_the_bat_preset_warns_above_its_rate(tmp_path):
    sr = 384000
    x = np.zeros(12 * sr, dtype=np.float32)
    x[9 * sr: 9 * sr + sr // 100] = _tone(0.01, 40000.0, 0.5, sr)
    config = PRESETS["bat"].replace(crop="loudest")
    report, _, windows = _one_file_run(tmp_path, x, sr, config)
    entry = windows["windows"]["train/c/x_original"]
    assert entry["native_samplerate"] == sr and entry["path"] == "c/x_original.wav"
    assert entry["start_sample"] / config.sample_rate <= 9.0 <= entry["start_sample"] / 192000 + 8
    assert entry["start_seconds"] == entry["start_sample"] / 192000
    assert len(report.warnings) == 1
    assert "above 192000 Hz (up to 384000 Hz" in report.warnings[0]
    assert "drops everything from 96000 Hz to 192000 Hz" in report.warnings[0]


def test_bat_fm_keeps_a_short_window():
    fm, bat = PRESETS["bat_fm"], PRESETS["bat"]
    assert 1.0 <= 1000 * fm.n_fft / fm.sample_rate <= 2.0 < 1000 * bat.n_fft / bat.sample_rate
    assert fm.hop_length <= fm.n_fft // 4 and fm.validate() is fm
