"""Checking, reading and writing audio: every reason a file is refused, windows, clipping."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.errors import AudioFileError
from nightscan_common.io.audio_io import (
    PCM_PEAK_LIMIT,
    clip_guard,
    probe_audio,
    read_mono,
    resample,
    write_wav_pcm16,
)


@pytest.mark.parametrize(("ext", "subtype", "sr", "channels"), [
    ("wav", "PCM_U8", 8000, 1), ("wav", "PCM_24", 44100, 2), ("wav", "FLOAT", 48000, 1),
    ("wav", "PCM_32", 96000, 4), ("flac", "PCM_16", 192000, 1), ("ogg", None, 22050, 2),
    ("mp3", None, 16000, 1), ("aiff", "PCM_16", 11025, 1),
])
def test_probe_reads_every_supported_format(tmp_path, ext, subtype, sr, channels):
    path = tmp_path / f"rec.{ext}"
    write_recording(path, seconds=0.5, samplerate=sr, channels=channels, subtype=subtype)
    probe = probe_audio(path)
    assert probe.samplerate == sr and probe.channels == channels
    assert abs(probe.frames - sr // 2) <= 1200  # mp3 adds encoder padding
    assert len(probe.sha256) == 64 and 0 < probe.peak <= 1.0


def test_probe_refuses_empty_text_truncated_and_sampleless_files(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio at all")
    write_recording(tmp_path / "good.wav", seconds=0.5, samplerate=8000)
    data = (tmp_path / "good.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    write_recording(tmp_path / "good.flac", seconds=2.0, samplerate=8000)
    flac = (tmp_path / "good.flac").read_bytes()
    (tmp_path / "cut.flac").write_bytes(flac[: len(flac) // 2])
    sf.write(tmp_path / "none.wav", np.zeros((0,), dtype=np.float32), 8000)
    expected = {"empty.wav": "empty file", "text.wav": "not a readable audio file",
                "cut.wav": "truncated", "cut.flac": "truncated|corrupt audio data",
                "none.wav": "holds no samples"}
    for name, reason in expected.items():
        with pytest.raises(AudioFileError, match=reason) as info:
            probe_audio(tmp_path / name)
        assert info.value.path.endswith(name)


def test_missing_file_is_a_file_error(tmp_path):
    with pytest.raises(AudioFileError, match="cannot be read"):
        probe_audio(tmp_path / "gone.wav")


def test_read_mono_averages_channels_and_reads_only_the_window(tmp_path):
    stereo = np.stack([np.linspace(-0.5, 0.5, 8000), np.full(8000, 0.25)], axis=1).astype(np.float32)
    sf.write(tmp_path / "s.wav", stereo, 8000, subtype="FLOAT")
    mono, sr = read_mono(tmp_path / "s.wav", start=1000, frames=500)
    assert sr == 8000 and mono.dtype == np.float32 and mono.shape == (500,)
    np.testing.assert_allclose(mono, stereo[1000:1500].mean(axis=1), atol=1e-7)


def test_resample_changes_length_by_the_ratio(rng):
    x = rng.standard_normal(44100).astype(np.float32)
    y = resample(x, 44100, 22050)
    assert y.dtype == np.float32 and len(y) == 22050
    assert resample(x, 8000, 8000) is x


def test_clip_guard_scales_only_loud_signals():
    quiet = np.array([0.5, -0.5], dtype=np.float32)
    assert clip_guard(quiet) == (quiet, 0.0)
    loud, gain_db = clip_guard(np.array([2.0, -1.0], dtype=np.float32))
    assert np.abs(loud).max() == pytest.approx(PCM_PEAK_LIMIT)
    assert gain_db == pytest.approx(20 * np.log10(PCM_PEAK_LIMIT / 2.0))


def test_write_wav_pcm16_is_atomic_and_16_bit(tmp_path):
    target = tmp_path / "sub" / "out.wav"
    write_wav_pcm16(target, np.full(100, 0.5, dtype=np.float32), 16000)
    info = sf.info(target)
    assert info.subtype == "PCM_16" and info.frames == 100 and info.samplerate == 16000
    assert [p.name for p in target.parent.iterdir()] == ["out.wav"]


def test_a_header_claiming_billions_of_frames_is_not_believed(tmp_path):
    """Reading stops where the data does: a lying length is neither looped over nor allocated."""
    path = tmp_path / "liar.mp3"
    write_recording(path, seconds=0.5, samplerate=8000)
    honest = probe_audio(path).frames
    data = bytearray(path.read_bytes())
    at = data.find(b"Xing") + data.find(b"Info") + 1  # the encoder writes one of the two
    data[at + 8 : at + 12] = b"\x7f\xff\xff\xff"  # the frame count (its flag is set)
    path.write_bytes(bytes(data))
    assert sf.info(path).frames > 1 << 40
    frames = probe_audio(path).frames
    assert abs(frames - honest) <= 1152  # the encoder's padding, no longer trimmed: one mp3 frame
    assert read_mono(path)[0].shape == (frames,)
