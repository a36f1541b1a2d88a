"""The audit of an original and the quality gate: measured values, strict JSON, reasons."""

import json

import numpy as np
import pytest
import soundfile as sf
from fingerprint_corpus import calls_of_one_kind, clip, two_songs, write_encodings

from nightscan_common.dsp.audit import (
    MIN_DURATION_S,
    MIN_PEAK_DBFS,
    Audit,
    AuditBuilder,
    audit_file,
    audit_samples,
    gate_reason,
    probe_and_audit,
)
from nightscan_common.dsp.fingerprint import Fingerprint
from nightscan_common.errors import AudioFileError

SR = 16000
LSB = 1 / 32768


def sine(amplitude: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_levels_of_a_sine_are_its_peak_and_rms_in_dbfs():
    a = audit_samples(sine(0.5), SR)
    assert (a.frames, a.samplerate, a.channels, a.duration) == (SR, SR, 1, 1.0)
    assert a.peak_dbfs == pytest.approx(-6.02, abs=0.01)
    assert a.rms_dbfs == pytest.approx(-9.03, abs=0.01)
    assert a.clipped_fraction == 0.0 and a.nonfinite_samples == 0
    assert len(Fingerprint.from_text(a.fingerprint)) > 0
    assert gate_reason(a) is None


def test_silence_is_null_in_strict_json_and_round_trips():
    a = audit_samples(np.zeros((3 * SR, 2), dtype=np.float32), SR)
    assert a.peak_dbfs is None and a.rms_dbfs is None and a.channels == 2
    text = json.dumps(a.to_dict(), allow_nan=False)
    data = json.loads(text)
    assert data["peak_dbfs"] is None and data["duration"] == 3.0
    assert Audit.from_dict(data) == a
    assert gate_reason(a) == "digital silence: every sample of its 3.000 s is zero"


def test_near_silence_of_one_bit_is_named_with_its_level():
    rng = np.random.default_rng(0)
    a = audit_samples((rng.integers(-1, 2, SR) * LSB).astype(np.float32), SR)
    assert a.peak_dbfs == pytest.approx(-90.31, abs=0.01)
    assert gate_reason(a).startswith("near-silent: peak -90.3 dBFS (RMS -92.")
    assert gate_reason(a).endswith("is below --min-peak-dbfs -60")
    assert gate_reason(a, min_peak_dbfs=-100) is None


def test_too_short_and_non_finite_are_refused_with_what_was_measured():
    assert gate_reason(audit_samples(sine(0.5, 0.05), SR)) == \
        "too short: 0.050 s is below --min-duration 0.1 s"
    assert gate_reason(audit_samples(sine(0.5, 0.05), SR), min_duration=0.01) is None
    x = sine(0.5)
    x[10:13] = [np.nan, np.inf, -np.inf]
    a = audit_samples(x, SR)
    assert a.nonfinite_samples == 3 and a.peak_dbfs == pytest.approx(-6.02, abs=0.01)
    assert gate_reason(a) == "holds 3 non-finite samples (NaN or infinity)"
    json.dumps(a.to_dict(), allow_nan=False)


def test_clipping_counts_samples_at_full_scale_in_every_channel(tmp_path):
    x = np.clip(sine(2.0), -1, 1)  # a sine driven into the rails
    path = tmp_path / "clipped.wav"
    sf.write(path, np.stack([x, x * 0.5], axis=1), SR, subtype="PCM_16")
    a = audit_file(path)
    expected = np.count_nonzero(np.abs(x) >= 32767 / 32768) / (2 * len(x))
    assert a.clipped_fraction == pytest.approx(expected) and 0.3 < a.clipped_fraction < 0.45
    assert a.peak_dbfs == pytest.approx(0.0, abs=0.01)


def test_a_file_audited_in_blocks_equals_its_whole_decode(tmp_path):
    path = tmp_path / "stereo.flac"
    x = clip(2.0, sr=22050)
    sf.write(path, np.stack([x, 0.3 * x], axis=1), 22050)
    data, sr = sf.read(path, dtype="float32")
    assert audit_file(path, blocksize=1000) == audit_samples(data, sr)


def test_a_corrupt_file_or_a_bad_record_is_an_error(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not audio at all")
    with pytest.raises(AudioFileError, match="not a readable audio file"):
        audit_file(bad)
    with pytest.raises(ValueError, match="lacks 'fingerprint'"):
        Audit.from_dict({k: v for k, v in audit_samples(sine(0.1), SR).to_dict().items()
                         if k != "fingerprint"})


def test_every_clip_of_the_corpus_passes_the_defaults_with_a_wide_margin(tmp_path):
    """What the defaults were chosen on: the quietest real-like clip is far above them."""
    audits = [audit_file(p) for p in write_encodings(tmp_path, clip(1.0), 44100)]
    audits += [audit_samples(x, SR) for x in calls_of_one_kind(5, seconds=1.0)]
    audits += [audit_samples(x, 22050) for x in two_songs(seconds=1.0)]
    assert all(gate_reason(a) is None for a in audits)
    assert min(a.peak_dbfs for a in audits) > MIN_PEAK_DBFS + 30
    assert min(a.duration for a in audits) >= 10 * MIN_DURATION_S


@pytest.mark.parametrize(("dtype", "scale"), [("int32", 2.0**-31), ("int16", 2.0**-15)])
def test_integer_blocks_with_their_scale_give_the_float_audit(tmp_path, dtype, scale):
    path = tmp_path / "a.wav"
    sf.write(path, sine(0.25), SR, subtype="PCM_16")
    ints, _ = sf.read(path, dtype=dtype, always_2d=True)
    builder = AuditBuilder(SR, 1)
    builder.add(ints[:5000], scale=scale)
    builder.add(ints[5000:], scale=scale)
    assert builder.finish() == audit_file(path)
    assert probe_and_audit(path)[1] == audit_file(path)  # the check decodes PCM_16 as int16


@pytest.mark.parametrize(("subtype", "dtype"), [("PCM_16", "int16"), ("PCM_16", "int32"), ("PCM_24", "int32"),
                                               ("PCM_32", "int32")])
def test_integer_samples_give_the_audit_of_their_float_values_to_the_bit(tmp_path, subtype, dtype):
    """The integer path (no full-scale copy of the file) and the float path agree exactly:
    peak, RMS, clipping and fingerprint, on a stereo file driven into the rails."""
    path = tmp_path / f"loud_{subtype}.wav"
    x = np.clip(sine(1.6, seconds=2.0), -1, 1)
    sf.write(path, np.stack([x, -0.3 * x], axis=1), SR, subtype=subtype)
    ints, _ = sf.read(path, dtype=dtype, always_2d=True)
    scale = 2.0**-15 if dtype == "int16" else 2.0**-31
    by_int, by_float = AuditBuilder(SR, 2), AuditBuilder(SR, 2)
    for start in range(0, len(ints), 7000):
        block = ints[start:start + 7000]
        by_int.add(block, scale=scale)
        by_float.add(block.astype(np.float32) * np.float32(scale))
    got = by_int.finish()
    assert got == by_float.finish()
    assert got.clipped_fraction > 0.1 and got.peak_dbfs == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize(("fmt", "subtype"), [("WAV", "PCM_U8"), ("AIFF", "PCM_S8"), ("WAV", "PCM_16"),
                                              ("FLAC", "PCM_16"), ("WAV", "PCM_24"), ("WAV", "PCM_32")])
def test_the_checks_integer_decode_gives_the_float_decodes_audit(tmp_path, fmt, subtype):
    """The check decodes 8- and 16-bit PCM as int16 and wider PCM as int32: the audit is the one
    a float decode gives, stereo and driven into the rails included."""
    path = tmp_path / f"a.{fmt.lower()}"
    x = np.clip(sine(1.3, seconds=1.5), -1, 1)
    sf.write(path, np.stack([x, -0.5 * x], axis=1), SR, format=fmt, subtype=subtype)
    checked = probe_and_audit(path)
    assert checked[1] == audit_file(path)
    assert checked[0].peak == pytest.approx(10 ** (checked[1].peak_dbfs / 20), rel=1e-3)
