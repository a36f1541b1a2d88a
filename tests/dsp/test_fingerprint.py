"""Content fingerprints: copies of one recording group together, look-alikes never do."""

import itertools

import numpy as np
import pytest
import soundfile as sf
from fingerprint_corpus import calls_of_one_kind, clip, mp3_levels, two_songs, write_encodings

from nightscan_common.dsp import fingerprint as fpm
from nightscan_common.dsp.fingerprint import (
    Fingerprint,
    candidate_pairs,
    compare,
    fingerprint,
    group_duplicates,
)


def _decoded(paths):
    return {p.name: fingerprint(*sf.read(p, dtype="float32")) for p in paths}


@pytest.mark.parametrize(("seconds", "sr"), [(1.0, 44100), (4.0, 44100), (4.0, 22050)])
def test_every_encoding_rate_gain_and_channel_mix_is_one_group(tmp_path, seconds, sr):
    paths = write_encodings(tmp_path, clip(seconds, sr=sr), sr)
    assert len(paths) == 9 + 4 - (sr in (8000, 16000, 44100, 48000))  # formats, gains, stereo; rates
    for level, kbps in mp3_levels(sr).items():  # the bit rates are the ones named
        size = (tmp_path / f"mp3_{kbps}.mp3").stat().st_size
        assert size * 8 / seconds / 1000 == pytest.approx(kbps, rel=0.1 if seconds > 1 else 0.3), level
    fps = _decoded(paths)
    assert group_duplicates(fps) == [sorted(fps)]
    worst = max(compare(fps["pcm16.wav"], fp).bit_error for fp in fps.values())
    assert worst < fpm.MATCH_BIT_ERROR / 2


def test_fifty_calls_of_one_kind_and_two_songs_are_never_duplicates():
    fps = {f"call_{i:02d}": fingerprint(c, 16000) for i, c in enumerate(calls_of_one_kind())}
    fps.update({f"song_{i}": fingerprint(s, 22050) for i, s in enumerate(two_songs())})
    assert group_duplicates(fps) == []
    closest = min(compare(a, b).bit_error for a, b in itertools.combinations(fps.values(), 2))
    assert closest > 0.35  # far from the 0.25 threshold


def test_silent_and_near_silent_files_match_nothing(tmp_path):
    rng = np.random.default_rng(0)
    lsb = 1 / 32768
    quiet = {
        "zeros_1s": np.zeros(16000, dtype=np.float32),
        "zeros_2s": np.zeros(32000, dtype=np.float32),
        "lsb_noise_a": (rng.integers(-1, 2, 16000) * lsb).astype(np.float32),
        "lsb_noise_b": (rng.integers(-1, 2, 16000) * lsb).astype(np.float32),
    }
    fps = {name: fingerprint(x, 16000) for name, x in quiet.items()}
    assert all(fp.active_frames == 0 and len(fp.sketch()) == 0 for fp in fps.values())
    fps["call"] = fingerprint(calls_of_one_kind(1)[0], 16000)
    assert group_duplicates(fps) == []
    assert compare(fps["zeros_1s"], fps["zeros_2s"]).overlap == 0


def test_a_copy_with_leading_silence_matches_at_an_offset():
    x = clip(3.0, sr=16000)
    delayed = np.concatenate([np.zeros(1600, dtype=np.float32), x])  # 100 ms
    result = compare(fingerprint(x, 16000), fingerprint(delayed, 16000))
    assert result.is_match and result.offset == 3  # 100 ms is about 3 frames of 32 ms


def test_groups_are_sorted_and_independent_of_input_order():
    a, b = clip(2.0, sr=16000, seed=3), clip(2.0, sr=16000, seed=4)
    fps = {"owl/z.wav": fingerprint(a, 16000), "bat/y.flac": fingerprint(a * 0.5, 16000),
           "owl/c.wav": fingerprint(b, 16000), "insect/c.ogg": fingerprint(b, 16000)}
    expected = [["bat/y.flac", "owl/z.wav"], ["insect/c.ogg", "owl/c.wav"]]
    assert group_duplicates(fps) == expected
    assert group_duplicates(dict(reversed(list(fps.items())))) == expected


def test_lookup_compares_candidates_only_not_all_pairs():
    rng = np.random.default_rng(5)
    fps = [Fingerprint(rng.integers(0, 2**32, 250, dtype=np.uint32), np.ones(250, bool))
           for _ in range(300)]
    assert len(candidate_pairs([fp.sketch() for fp in fps])) < 5  # of 44,850 pairs


def test_a_key_held_by_many_pairs_them_with_its_first_holder_only():
    same = Fingerprint(np.arange(100, dtype=np.uint32), np.ones(100, bool))
    pairs = candidate_pairs([same.sketch()] * 40)
    assert pairs.tolist() == [[0, j] for j in range(1, 40)]
    assert group_duplicates({f"f{i:02d}": same for i in range(40)}) == [[f"f{i:02d}" for i in range(40)]]


def test_text_form_round_trips_and_refuses_other_forms():
    fp = fingerprint(clip(1.0, sr=8000), 8000)
    text = fp.to_text()
    assert text.startswith(f"fp1:{len(fp)}:") and text.isascii()
    assert Fingerprint.from_text(text) == fp
    with pytest.raises(ValueError, match="not a version-1 fingerprint"):
        Fingerprint.from_text("fp0:1:AAAA:AA==")
    with pytest.raises(ValueError, match="does not match"):
        Fingerprint.from_text(text.replace(f"fp1:{len(fp)}:", f"fp1:{len(fp) + 9}:"))


def test_only_the_first_seconds_count_and_short_clips_still_give_words():
    long = fingerprint(np.zeros(int(fpm.MAX_SECONDS * 8000) * 2, dtype=np.float32), 8000)
    assert len(long) == (int(fpm.MAX_SECONDS * 8000) - fpm.N_FFT) // fpm.HOP
    assert len(fingerprint(np.ones(10, dtype=np.float32), 8000)) == 1


def test_non_finite_samples_count_as_zeros():
    x = clip(1.0, sr=8000)
    y = x.copy()
    y[100:103] = [np.nan, np.inf, -np.inf]
    x[100:103] = 0.0
    assert fingerprint(y, 8000) == fingerprint(x, 8000)


def test_words_are_those_of_numpys_fft(monkeypatch):
    """scipy's FFT (several rows at once) gives the words numpy's gives, clip after clip."""
    clips = calls_of_one_kind(4, seconds=2.0) + two_songs(seconds=2.0)
    fast = [fpm.fingerprint(x, 22050) for x in clips]
    monkeypatch.setattr(fpm, "_rfft_rows", lambda frames: np.fft.rfft(frames, axis=1))
    assert [fpm.fingerprint(x, 22050) for x in clips] == fast
