"""Reading one window of a recording: start, center, loudest, padding, and bad files."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import soundfile as sf

from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.errors import AudioFileError
from nightscan_common.io import audio_window
from nightscan_common.io.audio_window import frame_energies, loudest_window_start, read_window

SR = 22050
N = 8 * SR


def _whole_file(path, sr=SR) -> np.ndarray:
    """The plain way: decode everything, mono, resample (librosa's soxr_hq)."""
    return librosa.load(path, sr=sr, mono=True)[0]


def _burst_file(path, *, seconds=30.0, burst_at=20.0, samplerate=16000, rng=None) -> None:
    rng = rng or np.random.default_rng(0)
    x = 0.01 * rng.standard_normal(int(seconds * samplerate))
    i = int(burst_at * samplerate)
    x[i : i + samplerate // 2] = 0.8 * np.sin(np.arange(samplerate // 2) * 0.3)
    sf.write(path, x.astype(np.float32), samplerate)


@pytest.mark.parametrize("samplerate, channels, subtype", [
    (44100, 2, "PCM_24"), (48000, 2, "PCM_16"), (8000, 1, "PCM_16"), (96000, 1, "FLOAT"), (22050, 1, None),
])
def test_start_equals_whole_file_resampling_then_cut(tmp_path, samplerate, channels, subtype):
    path = tmp_path / "long.wav"
    write_recording(path, call="sweeps", seconds=9.0, samplerate=samplerate, channels=channels,
                    subtype=subtype)
    window = read_window(path, sample_rate=SR, n_samples=N)
    assert window.shape == (N,) and window.dtype == np.float32
    np.testing.assert_allclose(window, _whole_file(path)[:N], atol=1e-5, rtol=0)


def test_center_is_the_middle_of_the_whole_file_resampled(tmp_path):
    path = tmp_path / "long.wav"
    write_recording(path, call="clicks", seconds=11.0, samplerate=48000, channels=2)
    whole = _whole_file(path)
    start = (len(whole) - N) // 2
    window = read_window(path, sample_rate=SR, n_samples=N, crop="center")
    np.testing.assert_allclose(window, whole[start : start + N], atol=1e-5, rtol=0)


def test_loudest_finds_the_burst_of_a_30_s_file(tmp_path):
    path = tmp_path / "burst.wav"
    _burst_file(path)
    start = loudest_window_start(path, window_frames=8 * 16000, hop_frames=371)
    assert start <= 20 * 16000 and start + 8 * 16000 >= int(20.5 * 16000)
    window = read_window(path, sample_rate=SR, n_samples=N, crop="loudest")
    assert np.abs(window).max() > 0.5  # the burst is in it
    assert np.abs(read_window(path, sample_rate=SR, n_samples=N)).max() < 0.1  # and not at the start


def test_loudest_or_center_of_a_short_file_is_its_start(tmp_path):
    path = tmp_path / "short.wav"
    write_recording(path, seconds=3.0, samplerate=16000)
    start = read_window(path, sample_rate=SR, n_samples=N)
    for crop in ("center", "loudest"):
        np.testing.assert_array_equal(read_window(path, sample_rate=SR, n_samples=N, crop=crop), start)


def test_a_2_s_file_is_zero_padded_at_the_end(tmp_path):
    path = tmp_path / "two.wav"
    write_recording(path, seconds=2.0, samplerate=44100, channels=2, subtype="PCM_24")
    window = read_window(path, sample_rate=SR, n_samples=N)
    assert window.shape == (N,)
    np.testing.assert_allclose(window[: 2 * SR], _whole_file(path), atol=1e-6, rtol=0)
    assert not window[2 * SR :].any()


def test_a_long_file_is_never_decoded_whole_for_start_or_center(tmp_path, monkeypatch):
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros(60 * 8000, np.float32), 8000)
    requested = []
    real = audio_window.read_mono

    def spy(p, *, start=0, frames=-1):
        requested.append(frames)
        return real(p, start=start, frames=frames)

    monkeypatch.setattr(audio_window, "read_mono", spy)
    for crop in ("start", "center"):
        read_window(path, sample_rate=SR, n_samples=N, crop=crop)
    assert len(requested) == 2 and all(0 < f < 9 * 8000 for f in requested)


def test_frame_energies_stream_the_mono_mix(tmp_path, rng):
    stereo = rng.standard_normal((10_000, 2)).astype(np.float32) * 0.1
    path = tmp_path / "st.wav"
    sf.write(path, stereo, 8000, subtype="FLOAT")
    mono = stereo.mean(axis=1, dtype=np.float32).astype(np.float64)
    expected = [np.sum(mono[i : i + 300] ** 2) for i in range(0, 10_000, 300)]  # last frame partial
    np.testing.assert_allclose(frame_energies(path, hop_frames=300), expected, rtol=1e-6)


def test_bad_files_raise_audio_file_error_with_a_reason(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio at all " * 50)
    sf.write(tmp_path / "none.wav", np.zeros(0, np.float32), 8000)
    nan = np.zeros(8000, np.float32)
    nan[100] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 8000, subtype="FLOAT")
    expected = {"missing.wav": "cannot be read", "empty.wav": "empty file",
                "text.wav": "not a readable audio", "none.wav": "holds no samples", "nan.wav": "non-finite"}
    for name, reason in expected.items():
        for crop in ("start", "loudest"):
            with pytest.raises(AudioFileError, match=reason):
                read_window(tmp_path / name, sample_rate=SR, n_samples=N, crop=crop)


def test_a_few_samples_give_a_padded_window(tmp_path):
    sf.write(tmp_path / "tiny.wav", np.full(5, 0.5, np.float32), 44100)
    window = read_window(tmp_path / "tiny.wav", sample_rate=SR, n_samples=N)
    assert window.shape == (N,) and np.isfinite(window).all() and not window[10:].any()


@pytest.mark.parametrize("crop", ["start", "center", "loudest"])
def test_an_unseekable_file_is_read_sequentially_under_every_crop(tmp_path, crop):
    """GSM 6.10 in AIFF cannot seek; its window equals that of a seekable copy of its samples."""
    gsm, copy = tmp_path / "churr.aiff", tmp_path / "copy.wav"
    _burst_file(gsm, seconds=20.0, burst_at=9.0, samplerate=8000)
    sf.write(gsm, sf.read(gsm, dtype="float32")[0], 8000, format="AIFF", subtype="GSM610")
    with sf.SoundFile(gsm) as f:
        assert not f.seekable()
    sf.write(copy, sf.read(gsm, dtype="float32")[0], 8000, subtype="FLOAT")
    got = read_window(gsm, sample_rate=16000, n_samples=4 * 16000, crop=crop)
    want = read_window(copy, sample_rate=16000, n_samples=4 * 16000, crop=crop)
    np.testing.assert_allclose(got, want, atol=1e-6)
    if crop != "start":
        assert np.abs(got).max() > 0.5  # the burst at 9 s is in the window


def _band_share_float64(mono: np.ndarray, samplerate: int, band: tuple[float, float]) -> tuple[float, float]:
    """The reference: every frame's float64 power spectrum through numpy's FFT."""
    n = min(audio_window._SHARE_FRAME, len(mono))
    frames = np.zeros(-(-len(mono) // n) * n)
    frames[: len(mono)] = mono
    power = (np.abs(np.fft.rfft(frames.reshape(-1, n) * np.hanning(n + 1)[:-1], axis=1)) ** 2).sum(axis=0)
    freqs = np.fft.rfftfreq(n, 1.0 / samplerate)
    inside = power[(freqs >= band[0]) & (freqs <= band[1])].sum() / power.sum()
    median = freqs[min(len(freqs) - 1, int(np.searchsorted(np.cumsum(power), power.sum() / 2)))]
    return round(float(inside), 4), round(float(median), 1)


@pytest.mark.parametrize("samplerate", [22050, 44100, 192000])
def test_band_share_in_float32_gives_the_float64_reference(rng, samplerate):
    """The fast path (float32 frames, scipy's FFT) rounds to the reference's share and median:
    a song, a quiet one, a bat's sweeps and a clip shorter than one frame."""
    t = np.arange(int(2.5 * samplerate)) / samplerate
    song = np.sin(2 * np.pi * (2000 + 1500 * np.sin(2 * np.pi * 3 * t)) * t) * (t % 0.5 < 0.2)
    sweeps = np.sin(2 * np.pi * (60000 - 40000 * ((t % 0.1) / 0.1)) * t) * (t % 0.1 < 0.005)
    signals = [song, 1e-3 * song + 1e-4 * rng.standard_normal(len(t)), song[:1000]]
    if samplerate > 120000:
        signals.append(sweeps)
    for x in signals:
        for band in [(50.0, 11000.0), (15000.0, samplerate / 2), (200.0, 4000.0)]:
            got = audio_window.band_share(x.astype(np.float32), samplerate, band)
            assert got == _band_share_float64(x.astype(np.float32), samplerate, band)
