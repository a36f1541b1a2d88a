"""Corruption fuzzing: seeded mutations of valid WAV, FLAC, OGG and MP3 clips, through steps 1 and 3.

Each mutant is either processed or reported with a reason, never both, never neither;
no run crashes or hangs. One run of each step over all of them keeps it fast.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from fault_helpers import call_main, temporaries
from pool_helpers import metadata
from spectrogram_helpers import npy_path, write_index

import create_augmented_pool
import pregenerate_spectrograms_simple
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.steps.pool import JOURNAL_FILENAME
from nightscan_common.steps.spectrograms import FAILURES_FILENAME

SEED = 20240601
FORMATS = ("wav", "flac", "ogg", "mp3")
PER_FORMAT = 55  # 220 mutants
#: A hang shows as a timeout failure after this long, not as a stuck test; no 0.3 s clip
#: may come near it.
TIMEOUT = 10.0


def _truncate(data: bytearray, rng: np.random.Generator) -> bytearray:
    return data[: int(rng.integers(0, len(data)))]


def _flip_bits(data: bytearray, rng: np.random.Generator) -> bytearray:
    for _ in range(int(rng.integers(1, 17))):
        data[int(rng.integers(0, len(data)))] ^= 1 << int(rng.integers(0, 8))
    return data


def _bad_header(data: bytearray, rng: np.random.Generator) -> bytearray:
    n = int(rng.integers(1, 33))
    at = int(rng.integers(0, 64 - n))
    data[at : at + n] = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    return data


def _huge_field(data: bytearray, rng: np.random.Generator) -> bytearray:
    """A size, rate or count field set to its largest or smallest value."""
    at = int(rng.integers(4, 60))
    data[at : at + 4] = (b"\xff\xff\xff\xff", b"\x00\x00\x00\x00", b"\xff\xff\xff\x7f")[
        int(rng.integers(0, 3))]
    return data


def _zero_run(data: bytearray, rng: np.random.Generator) -> bytearray:
    at, n = int(rng.integers(0, len(data))), int(rng.integers(16, 513))
    data[at : at + n] = bytes(len(data[at : at + n]))
    return data


def _spliced(data: bytearray, rng: np.random.Generator) -> bytearray:
    """A stretch of the file copied into another place (a bad copy, a bad sector)."""
    a, b = sorted(int(x) for x in rng.integers(0, len(data), 2))
    at = int(rng.integers(0, len(data)))
    return data[:at] + data[a:b] + data[at:]


def _garbage_tail(data: bytearray, rng: np.random.Generator) -> bytearray:
    return data + rng.integers(0, 256, int(rng.integers(1, 2001)), dtype=np.uint8).tobytes()


def _lying_length(data: bytearray, rng: np.random.Generator) -> bytearray:
    """The length the format declares made huge: billions of frames that are not there.

    WAV's data chunk size, FLAC's total samples, the MP3 Xing frame count, the last OGG
    page's granule position.
    """
    huge = int(rng.integers(1 << 28, 1 << 31))
    if (at := data.find(b"data")) >= 0 and data[:4] == b"RIFF":
        data[at + 4 : at + 8] = huge.to_bytes(4, "little")
    elif data[:4] == b"fLaC":  # STREAMINFO: 36 bits of total samples end at byte 26
        data[21] |= 0x0F
        data[22:26] = huge.to_bytes(4, "big")
    elif (at := max(data.find(b"Xing"), data.find(b"Info"))) >= 0:
        data[at + 4 : at + 8] = (1).to_bytes(4, "big")  # flags: the frame count is present
        data[at + 8 : at + 12] = huge.to_bytes(4, "big")
    elif (at := data.rfind(b"OggS")) >= 0:
        data[at + 6 : at + 14] = huge.to_bytes(8, "little")
    return data


MUTATIONS = (_truncate, _flip_bits, _bad_header, _huge_field, _zero_run, _spliced, _garbage_tail,
             _lying_length)


def make_mutants(root: Path, base: Path) -> list[str]:
    """Write ``PER_FORMAT`` mutants of each format's clip into ``root/<format>/``; their paths."""
    rng = np.random.default_rng(SEED)
    made = []
    for ext in FORMATS:
        clip = base / f"clip.{ext}"
        write_recording(clip, call="sweeps", seconds=0.3, samplerate=16000, seed=1)
        data = clip.read_bytes()
        (root / ext).mkdir(parents=True)
        for i in range(PER_FORMAT):
            mutate = MUTATIONS[i % len(MUTATIONS)]
            name = f"m{i:03d}{mutate.__name__}.{ext}"
            (root / ext / name).write_bytes(bytes(mutate(bytearray(data), rng)))
            made.append(f"{ext}/{name}")
    return made


@pytest.fixture(scope="module")
def mutants(tmp_path_factory) -> tuple[Path, list[str]]:
    base = tmp_path_factory.mktemp("fuzz")
    return base / "audio", make_mutants(base / "audio", base)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def step1_accepted() -> set[str]:
    """What step 1 processed, for step 3 to be compared with."""
    return set()


def test_step_1_processes_or_reports_every_mutant(mutants, tmp_path, capsys, monkeypatch, step1_accepted,
                                                  fault_ledger):
    root, made = mutants
    out = tmp_path / "pool"
    status, stdout, stderr = call_main(create_augmented_pool.main, [
        "--audio-root", root, "--output-dir", out, "--target-samples", 2 * PER_FORMAT,
        "--max-augmentations", "1", "--augmentations", "volume", "--num-workers", "2", "-q",
        # mutants of one clip are copies of one recording, some of them near-silent: kept, so
        # that each is processed or reported for what it is
        "--keep-duplicates", "--keep-quiet-files"], capsys, timeout=TIMEOUT)
    fault_ledger.mutations["step 1"] += len(made)
    assert status in (0, 1) and "Traceback" not in stderr, stderr
    meta = metadata(out)
    skipped = {s["path"]: s["reason"] for s in meta["skipped"]}
    assert all(reason.strip() and "timed out" not in reason for reason in skipped.values()), skipped
    assert all(re.search(rf"^(skipped|left out): {re.escape(p)}: ", stdout, re.M) for p in skipped)
    done: dict[str, dict[str, str]] = {}
    for cls, entry in meta["classes"].items():
        for f in entry["files"]:
            done.setdefault(f"{cls}/{f['source']}", {})[f["type"]] = f["filename"]
    for rel in made:
        assert (rel in skipped) != (rel in done), rel  # one or the other, never both or neither
        if rel in done:  # processed: its copy and its augmentation are in the pool
            cls = rel.split("/")[0]
            assert set(done[rel]) == {"original", "augmented"}, rel
            assert (out / cls / done[rel]["augmented"]).stat().st_size > 44
            expected = {rel: _sha(root / rel)}
            assert fault_ledger.account(expected, {rel: _sha(out / cls / done[rel]["original"])}) == []
    assert set(skipped) <= set(made)
    assert 0 < len(done) < len(made)  # the mutations are neither all harmless nor all fatal
    assert temporaries(out) == [] and not (out / JOURNAL_FILENAME).exists()
    step1_accepted.update(done)


def test_step_3_writes_or_lists_every_mutant(mutants, tmp_path, capsys, monkeypatch, step1_accepted,
                                             fault_ledger):
    root, made = mutants
    rows = [(rel, rel.split("/")[0], ("train", "val", "test")[i % 3]) for i, rel in enumerate(made)]
    db = write_index(tmp_path / "index.db", rows)
    out = tmp_path / "out"
    status, _, stderr = call_main(pregenerate_spectrograms_simple.main, [
        "--index-db", db, "--pool-root", root, "--output-dir", out, "--crop", "loudest",
        "--num-workers", "2", "-q"], capsys, timeout=TIMEOUT)
    fault_ledger.mutations["step 3"] += len(made)
    assert status in (0, 1) and "Traceback" not in stderr, stderr
    failed = {f["path"]: f["reason"] for f in json.loads((out / FAILURES_FILENAME).read_text())}
    assert all(reason.strip() and "timed out" not in reason for reason in failed.values()), failed
    written = set()
    for row in rows:
        exists = npy_path(out, row).exists()
        assert exists != (row[0] in failed), row[0]
        if exists:
            spec = np.load(npy_path(out, row))
            assert spec.shape == (128, 345) and np.isfinite(spec).all(), row[0]
            written.add(row[0])
    assert temporaries(out) == []
    assert step1_accepted <= written, "files step 1 accepted that step 3 cannot read"
