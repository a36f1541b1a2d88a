"""Every extension in the format table decodes, and the ones that cannot say what to do."""

import numpy as np
import pytest
import soundfile as sf

from nightscan_common.io.audio_formats import (
    NEEDS_CONVERTING,
    NOT_BY_NAME,
    READABLE_EXTENSIONS,
    ignored_reason,
    is_readable_name,
)
from nightscan_common.io.audio_io import probe_audio, read_mono

_SUBTYPES = ("PCM_16", "VORBIS", "MPEG_LAYER_III", "ALAW", "DPCM_16")


def test_the_table_covers_every_format_libsndfile_has():
    assert set(READABLE_EXTENSIONS.values()) | set(NOT_BY_NAME) == set(sf.available_formats())


@pytest.mark.parametrize("ext", sorted(READABLE_EXTENSIONS))
def test_each_readable_extension_writes_and_reads_back(tmp_path, ext):
    fmt = READABLE_EXTENSIONS[ext]
    subtype = "OPUS" if ext == ".opus" else next(s for s in _SUBTYPES if s in sf.available_subtypes(fmt))
    rate = 48000 if ext == ".opus" else 8000
    x = (0.5 * np.sin(np.arange(rate // 2) * 2 * np.pi * 440 / rate)).astype(np.float32)
    path = tmp_path / f"clip{ext.upper() if ext == '.wav' else ext}"
    try:
        sf.write(path, x, rate, format=fmt, subtype=subtype)
    except sf.LibsndfileError as exc:
        pytest.skip(f"libsndfile cannot write {fmt}/{subtype}: {exc}")
    assert is_readable_name(path.name) and ignored_reason(path.name) is None
    probe = probe_audio(path)
    assert probe.format == fmt and probe.frames >= len(x) * 0.9
    mono, _ = read_mono(path)
    assert 0.3 < float(np.abs(mono).max()) < 0.7  # lossy codecs overshoot a little


@pytest.mark.parametrize("ext", [".m4a", ".aac", ".webm", ".wma"])
def test_files_that_need_converting_say_so_in_one_line(ext):
    name = f"night1/Call 1{ext.upper()}"
    reason = ignored_reason(name)
    assert reason.startswith(f"{name}: {NEEDS_CONVERTING[ext]} ({ext}) is not decoded here")
    assert reason.endswith(f"ffmpeg -i 'Call 1{ext.upper()}' 'Call 1.flac'") and "\n" not in reason
    assert not is_readable_name(f"a{ext}")


def test_other_names_are_not_audio():
    assert ignored_reason("notes.txt") == "notes.txt: not an audio file name (.txt), ignored"
    assert ignored_reason("README") == "README: not an audio file name (no extension), ignored"
    assert ignored_reason("data.mat").endswith("(.mat), ignored")
