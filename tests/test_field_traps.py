"""The traps of real field collections, end to end through the three front ends.

One generated corpus holds them all: silent and near-silent placeholders, one clip in a
dozen encodings, rates and gains, one clip filed under two classes, a noise folder with
bad files beside a good one, and a file that cannot seek (GSM 6.10 in AIFF).
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fingerprint_corpus import clip, write_encodings

import create_augmented_pool as step1
import create_balanced_index as step2
import pregenerate_spectrograms_simple as step3
from nightscan_common.dsp.synthetic import individual_call, noise_bursts, song
from nightscan_common.formats.pool_metadata import METADATA_FILENAME
from nightscan_common.report.inputs import read_pool_inputs

SR = 16000
SECONDS = 1.5
AUGMENTATIONS = "noise,volume,background_noise"
BAD_NOISE = {"empty.wav": "holds no samples", "silent.ogg": "digital silence",
             "corrupt.aiff": "not a readable audio file", "ultra.wav": "above 384000 Hz",
             "notes.txt": "not an audio file name"}


def _write(path: Path, samples: np.ndarray, sr: int = SR, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples.astype(np.float32), sr, **options)


def _corpus(base: Path) -> tuple[Path, Path]:
    """The audio root (owl, insect, petrel) and the noise folder."""
    root, noise = base / "audio", base / "noise"
    for i in range(4):
        _write(root / "owl" / f"song_{i}.wav", song(SECONDS, SR, np.random.default_rng(10 + i)))
    _write(root / "owl" / "silent.wav", np.zeros(SR))
    lsb = np.random.default_rng(0).integers(-1, 2, SR) / 32768.0  # one least-significant bit
    _write(root / "owl" / "lsb.wav", lsb, subtype="PCM_16")
    shared = song(SECONDS, SR, np.random.default_rng(99))
    _write(root / "owl" / "shared.wav", shared)
    _write(root / "insect" / "shared.flac", shared * 0.5)  # one recording under two labels
    for i in range(3):
        _write(root / "insect" / f"call_{i}.wav", individual_call(SECONDS, SR, np.random.default_rng(20 + i)))
    _write(root / "insect" / "placeholder.wav", np.zeros(SR // 2))
    gsm = individual_call(3.0, 8000, np.random.default_rng(30))
    _write(root / "insect" / "gsm.aiff", gsm, 8000, format="AIFF", subtype="GSM610")
    for i in range(2):
        churr = individual_call(SECONDS, SR, np.random.default_rng(40 + i))
        _write(root / "petrel" / f"churr_{i}.wav", churr)
    write_encodings(root / "petrel" / "enc", clip(SECONDS, 22050, seed=5), 22050)
    _write(noise / "wind.wav", noise_bursts(3.0, SR, np.random.default_rng(1)))
    _write(noise / "empty.wav", np.zeros(0))
    _write(noise / "silent.ogg", np.zeros(SR))
    (noise / "corrupt.aiff").write_bytes(b"FORM\x00\x00\x00\x20AIFFCOMM" + bytes(40))
    _write(noise / "ultra.wav", np.random.default_rng(2).standard_normal(500_000) * 0.1, 500_000)
    (noise / "notes.txt").write_text("wind recorded on the ridge")
    return root, noise


def _step1(root: Path, noise: Path, out: Path, *extra: str) -> list[str]:
    return ["--audio-root", str(root), "--output-dir", str(out), "--target-samples", "12",
            "--augmentations", AUGMENTATIONS, "--background-noise-dir", str(noise), "--num-workers", "1",
            "-q", *extra]


@pytest.fixture(scope="module")
def pool_run(tmp_path_factory):
    """Step 1 over the corpus: its status, output and pool folder."""
    base = tmp_path_factory.mktemp("traps")
    root, noise = _corpus(base)
    out = base / "pool"
    printed = io.StringIO()  # stdout and stderr, as a user reads them
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        status = step1.main(_step1(root, noise, out))
    return status, printed.getvalue(), out, root, noise, base


def _meta(out: Path) -> dict:
    return json.loads((out / METADATA_FILENAME).read_text(encoding="utf-8"))


def test_no_silent_original_enters_the_pool(pool_run):
    status, text, out, *_ = pool_run
    assert status == 1
    meta = _meta(out)
    originals = [f for c in meta["classes"].values() for f in c["files"] if f["type"] == "original"]
    assert all(f["audit"]["peak_dbfs"] is not None and f["audit"]["peak_dbfs"] > -60 for f in originals)
    left_out = {s["path"]: s for s in meta["skipped"]}
    assert set(left_out) == {"owl/silent.wav", "owl/lsb.wav", "insect/placeholder.wav"}
    assert left_out["owl/lsb.wav"]["audit"]["peak_dbfs"] == pytest.approx(-90.3, abs=0.1)
    assert left_out["owl/silent.wav"]["audit"]["peak_dbfs"] is None  # null in JSON: no -inf
    assert "left out: owl/lsb.wav: near-silent: peak -90.3 dBFS" in text
    assert "left out: insect/placeholder.wav: digital silence" in text


def test_one_clip_in_every_encoding_is_kept_once(pool_run):
    _, text, out, root, *_ = pool_run
    encodings = sorted(f"petrel/enc/{p.name}" for p in (root / "petrel" / "enc").iterdir())
    assert len(encodings) >= 12
    meta = _meta(out)
    kept = [f["source"] for f in meta["classes"]["petrel"]["files"] if f["type"] == "original"]
    first = encodings[0]  # the first name of a group is the copy kept
    assert sorted(kept) == ["churr_0.wav", "churr_1.wav", first.removeprefix("petrel/")]
    assert meta["duplicates"] == {e: first for e in encodings if e != first}
    assert f"duplicate: petrel/enc/vorbis.ogg is the same recording as {first}" in text


def test_the_clip_in_two_classes_is_named_by_both(pool_run):
    _, text, out, *_ = pool_run
    assert _meta(out)["cross_class_duplicates"] == [["insect/shared.flac", "owl/shared.wav"]]
    assert "in two classes: insect/shared.flac = owl/shared.wav" in text


def test_every_class_gets_an_even_mix_of_types(pool_run):
    out = pool_run[2]
    for name, entry in _meta(out)["classes"].items():
        counts = Counter(f["augmentation"] for f in entry["files"] if f["type"] == "augmented")
        assert set(counts) == set(AUGMENTATIONS.split(",")), name
        assert max(counts.values()) - min(counts.values()) <= 1, (name, counts)


def test_good_originals_get_background_noise_and_bad_noise_files_are_named(pool_run):
    _, text, out, *_ = pool_run
    meta = _meta(out)
    mixed = [f for c in meta["classes"].values() for f in c["files"]
             if f.get("augmentation") == "background_noise"]
    assert len(mixed) >= 3 and all(f["params"]["noise_file"] == "wind.wav" for f in mixed)
    assert meta["totals"]["short_classes"] == [] and not any("skipped:" in line for line in text.splitlines())
    listed = {b["path"]: b["reason"] for b in meta["bad_noise_files"]}
    assert set(listed) == set(BAD_NOISE)
    for name, reason in BAD_NOISE.items():
        assert reason in listed[name]
        assert f"noise file left out: {name}: " in text


def test_step2_groups_by_content_and_names_the_cross_class_clip(pool_run, capsys):
    _, _, out, root, noise, base = pool_run
    db = base / "index.db"
    status = step2.main(["--pool-dir", str(out), "--output-db", str(db), "-q"])
    text = capsys.readouterr().out
    assert status == 1
    assert "insect/shared_original.flac = owl/shared_original.wav" in text
    assert step2.main(["--pool-dir", str(out), "--output-db", str(base / "strict.db"), "--strict", "-q"]) == 2
    assert "error: --strict:" in capsys.readouterr().err and not (base / "strict.db").exists()


def test_kept_duplicates_share_one_group_in_step2_even_without_fingerprints(pool_run):
    _, _, _, root, noise, base = pool_run
    out = base / "pool_all_copies"
    assert step1.main(_step1(root, noise, out, "--specific-class", "petrel", "--keep-duplicates",
                             "--target-samples", "40")) == 1  # the bad noise files
    meta = _meta(out)
    assert meta["duplicates"] == {}
    for legacy in (False, True):
        if legacy:  # a pool from an earlier version: step 2 computes the fingerprints
            for entry in meta["classes"].values():
                for f in entry["files"]:
                    f.pop("fingerprint", None)
            (out / METADATA_FILENAME).write_text(json.dumps(meta), encoding="utf-8")
        db = base / f"copies_{legacy}.db"
        assert step2.main(["--pool-dir", str(out), "--output-db", str(db), "-q"]) == 0
        with sqlite3.connect(db) as con:
            keys = dict(con.execute("SELECT original_file, group_key FROM audio_samples "
                                    "WHERE is_augmented = 0 AND original_file NOT LIKE 'petrel/churr%'"))
        assert len(keys) >= 12 and len(set(keys.values())) == 1, keys


@pytest.mark.parametrize("crop", ["start", "center", "loudest"])
def test_the_unseekable_file_gets_its_spectrogram_under_every_crop(pool_run, crop, capsys):
    _, _, out, _, _, base = pool_run
    db = base / "index.db"
    if not db.exists():
        step2.main(["--pool-dir", str(out), "--output-db", str(db), "-q"])
    spectrograms = base / f"spectrograms_{crop}"
    # under start, the band reaches the output's Nyquist frequency: the 16 kHz files lose content
    rate = ["--sample-rate", "8000"] if crop == "start" else []
    status = step3.main(["--index-db", str(db), "--pool-root", str(out), "--output-dir", str(spectrograms),
                         "--animal-type", "owl", "--duration", "1", "--crop", crop, "--num-workers", "1",
                         "-q", *rate])
    printed = capsys.readouterr()
    assert status == 0, printed.err
    made = list(spectrograms.rglob("gsm_original.npy"))
    assert len(made) == 1 and np.abs(np.load(made[0])).max() > 0
    listed = spectrograms / "warnings.json"
    if not rate:
        assert not listed.exists()  # the owl band fits every file
        return
    above = {w["path"] for w in json.loads(listed.read_text()) if w["kind"] == "above"}
    assert "petrel/lossless_original.flac" in above and "insect/gsm_original.aiff" not in above
    assert f"rate warnings: {len(above)} file(s), listed in {listed}" in printed.out
    assert "drops everything from 4000 Hz to 11025 Hz" in printed.err


def test_the_report_reads_the_levels_of_the_audit(pool_run):
    out = pool_run[2]
    originals = [f for files in read_pool_inputs(out).classes.values() for f in files if not f.is_augmented]
    recorded = {f["filename"]: f["audit"] for c in _meta(out)["classes"].values() for f in c["files"]
                if f["type"] == "original"}
    assert originals and all(f.peak_dbfs == recorded[f.name]["peak_dbfs"] is not None for f in originals)
    assert all(f.rms_dbfs == recorded[f.name]["rms_dbfs"] for f in originals)
