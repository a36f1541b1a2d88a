"""Step 3 under faults: bad indexes, files and rows, interruptions, dying workers, a full disk.

Every case checks the exit status, the message or ``failures.json`` entry naming the
file and the reason, that every other row gets its spectrogram, that nothing is
half-written under a final name and that the pool and the index are untouched.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fault_helpers import (
    call_main,
    disk_stop_line,
    fill_disk_or_write_half,
    final_files,
    half_written,
    interrupt,
    peak_memory_kb,
    run_limited,
    snapshot,
    start_paused,
    temporaries,
    wait_for_pause,
    wait_until_gone,
)
from spectrogram_helpers import npy_path, write_index

import pregenerate_spectrograms_simple as front
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.execution.process_pool import WORKER_DIED
from nightscan_common.formats.index_db import SCHEMA
from nightscan_common.formats.layouts import LAYOUTS
from nightscan_common.formats.tree_store import TreeWriter
from nightscan_common.io.atomic_write import atomic_path
from nightscan_common.steps.spectrograms import FAILURES_FILENAME

SCRIPT = "pregenerate_spectrograms_simple.py"
STEP = "step 3"
CONTROL = [("owl/rec_0_original.wav", "owl", "train"), ("owl/rec_1_aug001_volume.wav", "owl", "val")]


def _clip(path: Path, seed: int = 0, **kw) -> None:
    kw.setdefault("seconds", 0.3)
    kw.setdefault("samplerate", 8000)
    write_recording(path, seed=seed, **kw)


def _pool(tmp_path: Path) -> Path:
    pool = tmp_path / "pool"
    for i, (file_path, _, _) in enumerate(CONTROL):
        _clip(pool / file_path, seed=i)
    return pool


def _args(db, pool, out, *extra) -> list:
    return ["--index-db", db, "--pool-root", pool, "--output-dir", out, "--num-workers", "2", "-q", *extra]


@pytest.fixture(scope="module")
def control_outputs(tmp_path_factory) -> dict[str, str]:
    base = tmp_path_factory.mktemp("control")
    pool = _pool(base)
    db = write_index(base / "index.db", CONTROL)
    assert front.main([str(a) for a in _args(db, pool, base / "out")]) == 0
    return {k: v for k, v in final_files(base / "out").items() if k.endswith(".npy")}


# ---------------------------------------------------------------- bad inputs, one table


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path, Path], tuple[list, list]]  # -> (extra index rows, extra argv)
    status: int
    says: tuple[str, ...] = ()  # regexes of the output
    failures: dict[str, str] = field(default_factory=dict)  # file_path -> regex of its reason
    written: tuple[tuple[str, str, str], ...] = ()  # extra rows that get a spectrogram


def _missing_index(pool, tmp):
    return [], ["--index-db", tmp / "nowhere.db"]


def _text_index(pool, tmp):
    (tmp / "notes.db").write_text("not a database")
    return [], ["--index-db", tmp / "notes.db"]


def _zero_length_index(pool, tmp):
    (tmp / "zero.db").write_bytes(b"")
    return [], ["--index-db", tmp / "zero.db"]


def _index_without_rows(pool, tmp):
    return [], ["--index-db", write_index(tmp / "empty.db", [])]


def _missing_pool(pool, tmp):
    return [], ["--pool-root", tmp / "nowhere"]


def _wrong_pool(pool, tmp):
    (tmp / "other").mkdir()
    return [], ["--pool-root", tmp / "other"]


def _output_inside_pool(pool, tmp):
    return [], ["--output-dir", pool / "spectrograms"]


def _output_through_a_file(pool, tmp):
    (tmp / "afile").write_text("a file where a folder should be")
    return [], ["--output-dir", tmp / "afile" / "out"]


def _output_of_other_settings(pool, tmp):
    db = write_index(tmp / "first.db", CONTROL)
    assert front.main([str(a) for a in _args(db, pool, tmp / "out", "--n-mels", "64")]) == 0
    return [], []


def _not_audio(pool, tmp):
    (pool / "owl" / "fake_original.wav").write_text("a text file with an audio extension")
    return [("owl/fake_original.wav", "owl", "train")], []


def _zero_length(pool, tmp):
    (pool / "owl" / "empty_original.wav").write_bytes(b"")
    return [("owl/empty_original.wav", "owl", "test")], []


def _truncated(pool, tmp):
    _clip(pool / "owl" / "w.wav", seed=5)
    data = (pool / "owl" / "w.wav").read_bytes()
    (pool / "owl" / "w.wav").unlink()
    (pool / "owl" / "cut_original.wav").write_bytes(data[: len(data) * 2 // 3])
    _clip(pool / "owl" / "w.flac", seed=5, seconds=2.0)
    data = (pool / "owl" / "w.flac").read_bytes()
    (pool / "owl" / "w.flac").unlink()
    (pool / "owl" / "cut_original.flac").write_bytes(data[: len(data) // 2])
    return [("owl/cut_original.wav", "owl", "train"), ("owl/cut_original.flac", "owl", "val")], []


def _missing_file(pool, tmp):
    return [("owl/gone_original.wav", "owl", "train")], []


def _silent(pool, tmp):
    sf.write(pool / "owl" / "silent_original.wav", np.zeros(2400, np.float32), 8000)
    return [("owl/silent_original.wav", "owl", "train")], []


def _few_samples(pool, tmp):
    sf.write(pool / "owl" / "few_original.wav", np.array([0.1, -0.2, 0.05], np.float32), 8000)
    return [("owl/few_original.wav", "owl", "test")], []


FORMATS = {
    "u8.wav": dict(samplerate=8000, subtype="PCM_U8"),
    "s24.wav": dict(samplerate=44100, channels=2, subtype="PCM_24"),
    "s32.wav": dict(samplerate=96000, subtype="PCM_32"),
    "f32.wav": dict(samplerate=48000, subtype="FLOAT"),
    "six.wav": dict(samplerate=22050, channels=6),
    "hi.flac": dict(samplerate=192000, subtype="PCM_24"),
    "c.mp3": dict(samplerate=16000), "d.ogg": dict(samplerate=32000, channels=2),
    "e.aiff": dict(samplerate=11025),
}
FORMAT_ROWS = tuple((f"fmt/{Path(n).stem}_original{Path(n).suffix}", "fmt", "train") for n in FORMATS)


def _formats(pool, tmp):
    for i, ((file_path, _, _), kw) in enumerate(zip(FORMAT_ROWS, FORMATS.values(), strict=True)):
        _clip(pool / file_path, seed=20 + i, **kw)
    return list(FORMAT_ROWS), []


ODD_ROWS = (("o'dd \"cls\"/a b_original.wav", "o'dd \"cls\"", "train"),
            ("o'dd \"cls\"/é à_original.flac", "o'dd \"cls\"", "val"),
            ("o'dd \"cls\"/q'\"uote_original.ogg", "o'dd \"cls\"", "test"),
            ("o'dd \"cls\"/new\nline_original.wav", "o'dd \"cls\"", "train"))


def _odd_names(pool, tmp):
    for i, (file_path, _, _) in enumerate(ODD_ROWS):
        _clip(pool / file_path, seed=30 + i)
    return list(ODD_ROWS), []


def _symlink_loop(pool, tmp):
    os.symlink("loop_original.wav", pool / "owl" / "loop_original.wav")
    (pool / "owl" / "folder_original.wav").mkdir()
    return [("owl/loop_original.wav", "owl", "train"), ("owl/folder_original.wav", "owl", "val")], []


SECRET = "secret_original.wav"


def _untrusted_rows(pool, tmp):
    _clip(tmp / SECRET, seed=7)
    return [(f"../{SECRET}", "owl", "train"), (str(tmp / SECRET), "owl", "train"),
            (f"owl/../../{SECRET}", "owl", "val"), ("owl/x\x00.wav", "owl", "train"),
            ("owl/c1.wav", "../../escaped", "test"), ("owl/c2.wav", "a/b", "test"),
            ("owl/c3.wav", "..", "val"), ("owl/c4.wav", "", "val"),
            (b"owl/blob.wav", "owl", "train"), (12345, "owl", "train")], []


CASES = [
    Case("missing index", _missing_index, 2, (r"^error: index database not found: .*nowhere\.db$",)),
    Case("index that is a text file", _text_index, 2, (r"^error: .*notes\.db is not a NightScan index",)),
    Case("zero-length index", _zero_length_index, 2, (r"^error: .*zero\.db is not a NightScan index",)),
    Case("index without rows", _index_without_rows, 2, (r"^error: .*empty\.db holds no rows",)),
    Case("missing pool", _missing_pool, 2, (r"^error: --pool-root .*nowhere not found$",)),
    Case("pool of another index", _wrong_pool, 2,
         (r"^error: none of the 2 indexed files is below --pool-root .*other",)),
    Case("output inside the pool", _output_inside_pool, 2,
         (r"^error: --output-dir .*spectrograms is inside --pool-root",)),
    Case("output through a file (unwritable)", _output_through_a_file, 2,
         (r"^error: cannot write to .*afile/out \(a part of .*afile/out is a file, not a folder\)",)),
    Case("output of other settings", _output_of_other_settings, 2,
         (r"^error: .*out holds spectrograms made with other options \(n_mels 64 -> 128\); .*--overwrite",)),
    Case("audio extension, not audio", _not_audio, 1, (r"failures: 1, listed",),
         {"owl/fake_original.wav": r"^not a readable audio file \(.+\)$"}),
    Case("zero-length file", _zero_length, 1, (), {"owl/empty_original.wav": r"^empty file \(0 bytes\)$"}),
    Case("truncated wav and flac", _truncated, 1, (),
         {"owl/cut_original.wav": r"^truncated: the header declares \d+ frames, the file holds \d+$",
          "owl/cut_original.flac": r"^(truncated|corrupt audio data)"}),
    Case("missing file", _missing_file, 1, (),
         {"owl/gone_original.wav": r"^cannot be read \(No such file or directory\)$"}),
    Case("silent file", _silent, 0, written=(("owl/silent_original.wav", "owl", "train"),)),
    Case("a few samples", _few_samples, 0, written=(("owl/few_original.wav", "owl", "test"),)),
    Case("8-bit to float, 6 channels, 8 to 192 kHz", _formats, 0, written=FORMAT_ROWS),
    Case("spaces, accents, quotes, newline", _odd_names, 0, written=ODD_ROWS),
    Case("symlink loop and a folder", _symlink_loop, 1, (),
         {"owl/loop_original.wav": r"^cannot be read \(Too many levels of symbolic links\)$",
          "owl/folder_original.wav": r"^not a readable audio file"}),
    Case("rows that escape the pool or the output", _untrusted_rows, 1, (), {
        f"../{SECRET}": r"could escape the pool", f"owl/../../{SECRET}": r"could escape the pool",
        "*absolute*": r"^file_path is absolute", "owl/x\x00.wav": r"^file_path holds a NUL character$",
        "owl/c1.wav": r"^class_name is not a plain folder name \('\.\./\.\./escaped'\): it could escape",
        "owl/c2.wav": r"^class_name is not a plain folder name \('a/b'\)",
        "owl/c3.wav": r"^class_name is not a plain folder name \('\.\.'\)",
        "owl/c4.wav": r"^class_name is not a non-empty text \(''\)",
        "b'owl/blob.wav'": r"^file_path is not a non-empty text",  # a BLOB stays bytes in a TEXT column
        "12345": r"^cannot be read \(No such file"}),  # an INTEGER becomes the text '12345'
]


def _insert(db: Path, rows: list) -> None:
    con = sqlite3.connect(db)
    con.executemany("INSERT INTO audio_samples (file_path, class_name, is_augmented, original_file, split, "
                    "group_key) VALUES (?, ?, 0, 'x', ?, 'x')", rows)
    con.commit()
    con.close()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path, capsys, control_outputs, fault_ledger):
    pool = _pool(tmp_path)
    extra_rows, extra_args = case.build(pool, tmp_path)
    db = tmp_path / "index.db"
    con = sqlite3.connect(db)
    con.executescript(SCHEMA)
    con.close()
    _insert(db, CONTROL + extra_rows)
    out = tmp_path / "out"
    def inputs() -> dict[str, str]:  # the pool, the indexes, the file outside the pool
        return {k: v for k, v in snapshot(tmp_path).items() if k.split(os.sep)[0] != "out"}

    before_in, before_out = inputs(), final_files(tmp_path)
    status, stdout, stderr = call_main(front.main, _args(db, pool, out, *extra_args), capsys)
    fault_ledger.bad_inputs[STEP] += 1
    assert status == case.status, stderr
    for pattern in case.says:
        assert re.search(pattern, stdout + stderr, re.M), f"{pattern!r} not in:\n{stdout}{stderr}"
    assert "Traceback" not in stderr
    assert fault_ledger.account(before_in, inputs()) == [], "the pool or an index changed"
    if status == 2:
        assert len(stderr.strip().splitlines()) == 1
        assert final_files(tmp_path) == before_out, "a refused run changed a file"
        return
    assert temporaries(out) == []
    listed = json.loads((out / FAILURES_FILENAME).read_text()) if case.failures else []
    assert not (out / FAILURES_FILENAME).exists() or case.failures
    for entry in listed:
        key = "*absolute*" if entry["path"].startswith("/") else entry["path"]
        assert re.search(case.failures[key], entry["reason"]), entry
    assert {("*absolute*" if e["path"].startswith("/") else e["path"]) for e in listed} == set(case.failures)
    assert len(listed) == len(extra_rows) - len(case.written)
    got = {k: v for k, v in final_files(out).items() if k.endswith(".npy")}
    control = {k: got.get(k) for k in control_outputs}
    assert fault_ledger.account(control_outputs, control) == [], "the control rows lost their spectrograms"
    for row in case.written:
        spec = np.load(npy_path(out, row))
        assert spec.shape == (128, 345) and np.isfinite(spec).all()
    assert len(got) == len(CONTROL) + len(case.written), "a spectrogram for a refused row"
    assert sorted(os.listdir(tmp_path)) == sorted(["pool", "index.db", "out", *(
        [SECRET] if case.build is _untrusted_rows else [])]), "something written outside the output"


def test_an_hour_long_recording_is_read_by_its_window(hour_long_wav, tmp_path, fault_ledger):
    """Decoding the hour whole would take 115 MB as float32; a window must not."""
    long_pool, short_pool = hour_long_wav.parents[1], hour_long_wav.parents[2] / "short"
    db = write_index(tmp_path / "index.db", [("owl/hour.wav", "owl", "train")])
    runs = [_args(db, short_pool, tmp_path / "short", "--num-workers", "1"),
            _args(db, long_pool, tmp_path / "start", "--num-workers", "1"),
            _args(db, long_pool, tmp_path / "center", "--num-workers", "1", "--crop", "center"),
            _args(db, long_pool, tmp_path / "loudest", "--num-workers", "1", "--crop", "loudest")]
    peaks = peak_memory_kb("pregenerate_spectrograms_simple", runs)
    fault_ledger.bad_inputs[STEP] += 1
    whole_kb = sf.info(hour_long_wav).frames * 4 // 1024
    assert [status for status, _ in peaks] == [0, 0, 0, 0]
    assert peaks[-1][1] - peaks[0][1] < whole_kb // 4, peaks
    for name in ("start", "center", "loudest"):
        spec = np.load(tmp_path / name / "train" / "owl" / "hour.npy")
        assert spec.shape == (128, 345) and np.isfinite(spec).all()


# ---------------------------------------------------------------- interruptions


@pytest.fixture(scope="module")
def interrupt_reference(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Ten clips and a file that is not audio, their index, and an uninterrupted run's output."""
    base = tmp_path_factory.mktemp("interrupt")
    rows = [(f"c{i % 2}/rec_{i:02d}_original.wav", f"c{i % 2}", ("train", "val", "test")[i % 3])
            for i in range(10)]
    for i, (file_path, _, _) in enumerate(rows):
        _clip(base / "pool" / file_path, seed=i)
    (base / "pool" / "c0" / "bad_original.wav").write_text("not audio")
    db = write_index(base / "index.db", rows + [("c0/bad_original.wav", "c0", "train")])
    assert front.main([str(a) for a in _args(db, base / "pool", base / "ref")]) == 1
    return base / "pool", db, base / "ref"


POINTS = {
    "before any spectrogram": ("nightscan_common.steps.spectrograms:write_json", 1, False),
    "a spectrogram written, not renamed": ("pathlib:Path.write_bytes", 4, True),
    "all done, before failures.json": ("nightscan_common.steps.spectrograms:write_failures", 1, False),
}


@pytest.mark.parametrize(("sig", "point"), [(signal.SIGKILL, p) for p in POINTS] +
                         [(signal.SIGINT, "a spectrogram written, not renamed")],
                         ids=[f"SIGKILL-{p}" for p in POINTS] + ["SIGINT"])
def test_an_interrupted_run_is_finished_by_a_rerun(sig, point, interrupt_reference, tmp_path, capsys,
                                                   fault_ledger):
    pool, db, ref = interrupt_reference
    out = tmp_path / "out"
    args = [*_args(db, pool, out), "--num-workers", "1"]
    inputs = snapshot(pool), snapshot(db)
    pause, nth, after = POINTS[point]
    proc, marker = start_paused(tmp_path, SCRIPT, args, pause=pause, nth=nth, after=after)
    wait_for_pause(proc, marker)
    if sig == signal.SIGKILL and point == "a spectrogram written, not renamed":
        status, _, err = call_main(front.main, args, capsys)  # a second run, at the same time
        assert status == 2 and f"error: another run is writing to {out}" in err
    interrupt(proc, sig)
    assert wait_until_gone(proc.pid) == [], "worker processes outlived the run"
    assert half_written(out, ref) == [], "a partial file under a final name"

    status, _, err = call_main(front.main, args, capsys)
    assert status == 1, err  # the file that is not audio
    fault_ledger.interruptions[STEP] += 1
    expected = final_files(ref)
    assert fault_ledger.account(expected, final_files(out)) == []
    assert final_files(out).keys() == expected.keys()
    assert temporaries(out) == []
    assert fault_ledger.account(inputs[0], snapshot(pool)) == [] and snapshot(db) == inputs[1]


# ---------------------------------------------------------------- workers that die or hang


def test_dead_hung_and_stuck_workers_are_listed_and_the_rest_written(tmp_path, capsys, monkeypatch,
                                                                     control_outputs, fault_ledger):
    pool = _pool(tmp_path)
    faulty = [(f"owl/{name}_original.wav", "owl", "train") for name in ("die", "hang", "stuck")]
    for i, (file_path, _, _) in enumerate(faulty):
        _clip(pool / file_path, seed=40 + i)
    db = write_index(tmp_path / "index.db", CONTROL + faulty)
    real = TreeWriter.put

    def faulty_put(writer, job, array):
        source, target = job.source, writer.path(job.key)
        if source.endswith("die_original.wav"):
            with atomic_path(target) as tmp:  # half a file, then the OOM killer
                tmp.write_bytes(b"\x93NUMPY half")
                os.kill(os.getpid(), signal.SIGKILL)
        if source.endswith("hang_original.wav"):
            time.sleep(60)
        if source.endswith("stuck_original.wav"):  # as if looping in C: the alarm never gets through
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(60)
        return real(writer, job, array)

    monkeypatch.setattr(TreeWriter, "put", faulty_put)
    out = tmp_path / "out"
    started = time.monotonic()
    status, _, err = call_main(front.main, _args(db, pool, out), capsys, timeout=2.0)
    assert time.monotonic() - started < 60
    fault_ledger.worker_faults[STEP] += 3
    assert status == 1, err
    reasons = {f["path"]: f["reason"] for f in json.loads((out / FAILURES_FILENAME).read_text())}
    assert reasons == {"owl/die_original.wav": WORKER_DIED, "owl/hang_original.wav": "timed out after 2 s",
                       "owl/stuck_original.wav": WORKER_DIED}
    assert temporaries(out) == []
    got = {k: v for k, v in final_files(out).items() if k.endswith(".npy")}
    assert fault_ledger.account(control_outputs, got) == [] and len(got) == len(CONTROL)


# ---------------------------------------------------------------- a full disk, a read-only one


def test_a_file_too_large_for_the_disk_stops_the_run_and_a_rerun_completes(interrupt_reference, tmp_path,
                                                                          capsys, fault_ledger):
    """RLIMIT_FSIZE makes every write past 100 KB fail (EFBIG); a spectrogram is 177 KB."""
    pool, db, ref = interrupt_reference
    out = tmp_path / "out"
    args = _args(db, pool, out)
    res = run_limited(SCRIPT, args, file_size=100_000)
    fault_ledger.disk_faults[STEP] += 1
    assert res.returncode == 3, res.stderr
    written = rf"{re.escape(str(out))}/\w+/c\d/rec_\d+_original\.npy"
    assert re.fullmatch(disk_stop_line("File too large", written), res.stderr), res.stderr
    assert half_written(out, ref) == [] and temporaries(out) == []
    assert call_main(front.main, args, capsys)[0] == 1  # the file that is not audio
    assert fault_ledger.account(final_files(ref), final_files(out)) == []


def test_a_run_stopped_by_a_full_disk_leaves_no_half_file_of_the_other_worker(tmp_path, capsys, monkeypatch,
                                                                               fault_ledger):
    """The disk fills while the other worker is halfway through its file: the run stops,
    and that worker's temporary goes with it."""
    pool = _pool(tmp_path)
    db = write_index(tmp_path / "index.db", CONTROL)

    def racing_put(writer, job, array):
        fill_disk_or_write_half(writer.path(job.key), fills=job.source.endswith("rec_0_original.wav"),
                                half=b"\x93NUMPY half")

    monkeypatch.setattr(TreeWriter, "put", racing_put)
    out = tmp_path / "out"
    status, _, err = call_main(front.main, _args(db, pool, out), capsys)
    fault_ledger.disk_faults[STEP] += 1
    assert status == 3, err
    assert re.fullmatch(disk_stop_line("No space left on device", r".*/owl/rec_0_original\.npy"), err), err
    assert temporaries(out) == []


def test_a_full_then_read_only_tmpfs(small_tmpfs, interrupt_reference, tmp_path, capsys, fault_ledger):
    """On a real 1 MB disk: full after five spectrograms (ENOSPC); grown, a rerun completes;
    then read-only: refused before any work, by steps 1 and 3."""
    import create_augmented_pool

    disk, remount = small_tmpfs
    pool, db, ref = interrupt_reference
    out = disk / "out"
    status, _, err = call_main(front.main, _args(db, pool, out), capsys)
    fault_ledger.disk_faults[STEP] += 1
    assert status == 3 and re.fullmatch(disk_stop_line("No space left on device", r".*\.npy"), err), err
    assert half_written(out, ref) == [] and temporaries(out) == []
    remount("size=8m")
    assert call_main(front.main, _args(db, pool, out), capsys)[0] == 1  # the file that is not audio
    assert fault_ledger.account(final_files(ref), final_files(out)) == []

    remount("ro")
    before = snapshot(disk)
    status, _, err = call_main(front.main, _args(db, pool, disk / "other"), capsys)
    assert status == 2 and re.fullmatch(r"error: cannot write to .*other \(Read-only file system.*\n", err)
    _clip(tmp_path / "audio" / "owl" / "a.wav")
    status, _, err = call_main(create_augmented_pool.main, ["--audio-root", tmp_path / "audio",
                                                            "--output-dir", disk / "pool", "-q"], capsys)
    assert status == 2 and re.fullmatch(r"error: cannot write to .*pool \(Read-only file system.*\n", err)
    fault_ledger.disk_faults["step 1"] += 1
    fault_ledger.disk_faults[STEP] += 1
    assert snapshot(disk) == before  # step 2's read-only case is in test_faults_index


# ---------------------------------------------------------------- layouts and classes that change

#: Three classes, each split holding some: the layouts' rows carry the class indexes.
LAYOUT_ROWS = ([(f"owl/hoot_{i}_original.wav", "owl", "train" if i < 3 else "val") for i in range(4)]
               + [(f"bat/sweep_{i}_original.wav", "bat", "train" if i < 2 else "test") for i in range(3)]
               + [(f"rain/drops_{i}_original.wav", "rain", "train") for i in range(2)])


def _layout_pool(base: Path, rows=LAYOUT_ROWS) -> tuple[Path, Path]:
    for i, (file_path, _, _) in enumerate(rows):
        if not (base / "pool" / file_path).exists():
            _clip(base / "pool" / file_path, seed=i)
    return base / "pool", write_index(base / f"index{len(list(base.glob('index*.db')))}.db", rows)


def _layout_args(db, pool, out, layout, *extra) -> list[str]:
    return [str(a) for a in (*_args(db, pool, out), "--layout", layout, "--shard-size", 2, *extra)]


def _tree_npy(out: Path) -> dict[str, str]:
    return {k: v for k, v in final_files(out).items() if k.split("/")[0] in ("train", "val", "test")}


def test_overwrite_into_another_layout_leaves_no_old_tree_counted_as_done(tmp_path, capsys):
    """tree (fmin 50), then packed --overwrite --fmin 500, then tree --fmin 500: new files, not the old."""
    pool, db = _layout_pool(tmp_path)
    out = tmp_path / "out"
    assert front.main(_layout_args(db, pool, out, "tree")) == 0
    assert front.main(_layout_args(db, pool, out, "packed", "--overwrite", "--fmin", 500)) == 0
    assert _tree_npy(out) == {}  # the old tree went with the config that described it
    assert front.main(_layout_args(db, pool, out, "tree", "--fmin", 500)) == 0
    assert front.main(_layout_args(db, pool, tmp_path / "fresh", "tree", "--fmin", 500)) == 0
    assert len(_tree_npy(out)) == len(LAYOUT_ROWS)
    assert _tree_npy(out) == _tree_npy(tmp_path / "fresh")


def test_spectrograms_of_unknown_settings_in_another_layout_are_refused(tmp_path, capsys):
    pool, db = _layout_pool(tmp_path)
    out = tmp_path / "out"
    assert front.main(_layout_args(db, pool, out, "packed")) == 0
    (out / "spectrogram_config.json").unlink()
    before = final_files(out)
    status, _, err = call_main(front.main, _layout_args(db, pool, out, "tree", "--fmin", 500), capsys)
    assert status == 2 and re.fullmatch(r"error: .*out holds spectrograms but no spectrogram_config\.json, "
                                        r"so their settings are unknown; .*--overwrite.*\n", err), err
    assert final_files(out) == before


def test_a_packed_csv_with_two_rows_swapped_is_not_believed(tmp_path, capsys):
    """The reader refuses the edited CSV; a rerun recomputes the two rows, not trade their arrays."""
    from nightscan_common.dataset import SpectrogramDataset
    from nightscan_common.errors import UsageError

    pool, db = _layout_pool(tmp_path)
    out = tmp_path / "out"
    assert front.main(_layout_args(db, pool, out, "packed")) == 0
    built = final_files(out)
    table = out / "packed" / "train.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[4].split(",")[2] == lines[5].split(",")[2] == "owl"  # one class: labels agree
    lines[4], lines[5] = lines[5], lines[4]
    table.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(UsageError, match=r"train\.csv line 5 \(owl/hoot_2_original\.wav\) is not the row "
                                         "step 3 wrote there"):
        SpectrogramDataset(out, "train")
    status, stdout, _ = call_main(front.main, _layout_args(db, pool, out, "packed"), capsys)
    assert status == 0
    assert stdout.count("\nall ") == 1 and re.search(r"\nall +2 +7 +0 +9\n", stdout), stdout
    assert final_files(out) == built


@pytest.mark.parametrize("layout", LAYOUTS)
def test_classes_deleted_added_and_renamed_rerun_to_a_fresh_builds_bytes(tmp_path, capsys, layout):
    """rain deleted, owl renamed strix, frog added: labels.json rebuilt, every row follows, exit 0."""
    pool, db = _layout_pool(tmp_path)
    out = tmp_path / "out"
    assert front.main(_layout_args(db, pool, out, layout)) == 0
    changed = ([(p.replace("owl/", "strix/"), "strix", s) for p, c, s in LAYOUT_ROWS if c == "owl"]
               + [r for r in LAYOUT_ROWS if r[1] == "bat"] + [("frog/croak_0_original.wav", "frog", "val")])
    for file_path, _, _ in changed[:4]:
        (pool / file_path).parent.mkdir(parents=True, exist_ok=True)
        (pool / file_path).write_bytes((pool / file_path.replace("strix/", "owl/")).read_bytes())
    pool, new_db = _layout_pool(tmp_path, changed)
    status, _, err = call_main(front.main, _layout_args(new_db, pool, out, layout), capsys)
    assert status == 0, err
    labels = json.loads((out / "labels.json").read_text())["class_to_index"]
    assert labels == {"bat": 0, "frog": 1, "strix": 2}
    assert front.main(_layout_args(new_db, pool, tmp_path / "fresh", layout)) == 0
    assert final_files(out) == final_files(tmp_path / "fresh")


def test_a_class_added_then_one_split_rerun_leaves_the_others_refused_until_rerun(tmp_path, capsys):
    from nightscan_common.dataset import SpectrogramDataset
    from nightscan_common.errors import UsageError

    pool, db = _layout_pool(tmp_path)
    out = tmp_path / "out"
    assert front.main(_layout_args(db, pool, out, "packed")) == 0
    added = ("cricket/chirp_0_original.wav", "cricket", "train")  # bat 0, cricket 1, owl 2, rain 3
    pool, new_db = _layout_pool(tmp_path, [*LAYOUT_ROWS, added])
    assert front.main(_layout_args(new_db, pool, out, "packed", "--split", "train")) == 0
    assert sorted({label for _, label in SpectrogramDataset(out, "train")}) == [0, 1, 2, 3]
    with pytest.raises(UsageError, match=r"val\.csv gives 'owl' the class index 1, labels\.json 2: rebuild"):
        SpectrogramDataset(out, "val")
    assert front.main(_layout_args(new_db, pool, out, "packed")) == 0
    assert [label for _, label in SpectrogramDataset(out, "val")] == [2]


# ---------------------------------------------------------------- the folder's own JSON files

OWN_FILES = ("labels.json", "failures.json", "windows.json", ".spectrogram_sources.jsonl", "warnings.json",
             "spectrogram_config.json")


@pytest.fixture
def _no_hang():
    """A read that blocks (a FIFO) ends the test with a failure instead of hanging the suite."""
    def stop(signum, frame):
        raise AssertionError("the run hung reading its own file")
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("kind", ["a link to /dev/zero", "a FIFO"])
def test_the_folder_s_own_json_files_are_never_read_unbounded(kind, tmp_path, capsys, fault_ledger, _no_hang):
    pool = _pool(tmp_path)
    db = write_index(tmp_path / "index.db", CONTROL + [("owl/gone_original.wav", "owl", "test")])
    out = tmp_path / "out"
    assert call_main(front.main, _args(db, pool, out), capsys)[0] == 1  # one row listed as missing
    for name in OWN_FILES:
        path = out / name
        kept = path.read_bytes() if path.exists() else b"[]"
        path.unlink(missing_ok=True)
        if kind == "a FIFO":
            os.mkfifo(path)
        else:
            path.symlink_to("/dev/zero")
        before = final_files(out) if kind != "a FIFO" else None
        status, _, err = call_main(front.main, _args(db, pool, out), capsys)
        assert status == 2, (name, err)
        assert err.count("\n") == 1 and err.startswith("error: ") and name in err, err
        assert f"is not a regular file (a {'pipe' if kind == 'a FIFO' else 'device'})" in err, err
        if before is not None:
            assert final_files(out) == before, name
        path.unlink()
        path.write_bytes(kept)
        fault_ledger.bad_inputs[STEP] += 1
    assert call_main(front.main, _args(db, pool, out, "--overwrite"), capsys)[0] == 1


# ---------------------------------------------------------------- indexes that are not step 2's


def _three_column_index(db: Path, rows: list[tuple]) -> Path:
    """The three columns the manual (docs/step3-spectrograms.md) says step 3 reads, and nothing else."""
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE audio_samples (file_path TEXT, class_name TEXT, split TEXT)")
    con.executemany("INSERT INTO audio_samples VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    return db


@pytest.mark.parametrize("layout", ["packed", "webdataset"])
def test_a_training_layout_from_an_index_of_only_the_documented_columns(layout, tmp_path, capsys,
                                                                         fault_ledger):
    from nightscan_common.dataset import SpectrogramDataset

    pool = _pool(tmp_path)
    db = _three_column_index(tmp_path / "index.db", CONTROL)
    out = tmp_path / "out"
    status, _, err = call_main(front.main, _args(db, pool, out, "--layout", layout), capsys)
    assert status == 0, err
    train = SpectrogramDataset(out, "train", layout=layout)
    assert len(train) == 1 and train[0][0].shape == (128, 345)
    assert len(SpectrogramDataset(out, "val", layout=layout)) == 1
    fault_ledger.bad_inputs[STEP] += 1


@pytest.mark.parametrize("layout", ["tree", "packed"])
def test_a_refused_row_sharing_a_file_path_with_a_good_one_is_listed(layout, tmp_path, capsys, fault_ledger):
    pool = _pool(tmp_path)
    db = _three_column_index(tmp_path / "index.db", CONTROL + [("owl/rec_0_original.wav", "", "test"),
                                                               ("owl/rec_0_original.wav", None, "val")])
    out = tmp_path / "out"
    status, _, err = call_main(front.main, _args(db, pool, out, "--layout", layout), capsys)
    assert status == 1 and "Traceback" not in err, err
    listed = json.loads((out / FAILURES_FILENAME).read_text())
    assert [(f["path"], f["reason"]) for f in listed] == [
        ("owl/rec_0_original.wav", "class_name is not a non-empty text ('')"),
        ("owl/rec_0_original.wav", "class_name is not a non-empty text (None)")]
    fault_ledger.bad_inputs[STEP] += 1


# ---------------------------------------------------------------- sources rewritten in place


def _rewrite_in_place(path: Path, seed: int) -> None:
    """New audio over ``path``'s bytes: same inode, same size, and its old mtime put back."""
    before = path.stat()
    other = path.parent.parent / f".new-{seed}.wav"
    _clip(other, seed=seed)
    data = other.read_bytes()
    other.unlink()
    assert len(data) == before.st_size
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns,
                                                                 before.st_ino)


def _made(stdout: str) -> tuple[int, int, int]:
    """(kept, made, recomputed) of step 3's summary line."""
    found = re.search(r"spectrograms: (\d+) kept, (\d+) made \((\d+) of them", stdout)
    return int(found[1]), int(found[2]), int(found[3])


def _outputs(out: Path) -> dict[str, str]:
    return {k: v for k, v in final_files(out).items() if not k.endswith(".jsonl")}


@pytest.mark.parametrize(("link_mode", "layout"), [("hardlink", "tree"), ("hardlink", "packed"),
                                                   ("symlink", "webdataset")])
def test_an_original_rewritten_in_place_behind_a_link_is_recomputed(link_mode, layout, tmp_path, capsys,
                                                                    fault_ledger):
    import create_augmented_pool as step1
    import create_balanced_index as step2

    root, pool, db = tmp_path / "audio", tmp_path / "pool", tmp_path / "index.db"
    for c, cls in enumerate(("owl", "bat", "frog")):
        for i in range(2):
            _clip(root / cls / f"rec_{i}.wav", seed=10 * c + i)
    assert call_main(step1.main, ["--audio-root", root, "--output-dir", pool, "--target-samples", "3",
                                  "--augmentations", "volume", "--link-mode", link_mode, "--num-workers", "1",
                                  "-q"], capsys)[0] == 0
    assert call_main(step2.main, ["--pool-dir", pool, "--output-db", db, "-q"], capsys)[0] == 0
    out = tmp_path / "out"
    assert call_main(front.main, _args(db, pool, out, "--layout", layout), capsys)[0] == 0
    _rewrite_in_place(root / "owl" / "rec_0.wav", seed=99)  # the pool's original is that very inode
    status, stdout, err = call_main(front.main, _args(db, pool, out, "--layout", layout), capsys)
    assert status == 0, err
    assert _made(stdout) == (8, 1, 1)  # the changed original alone
    assert call_main(front.main, _args(db, pool, tmp_path / "fresh", "--layout", layout), capsys)[0] == 0
    assert _outputs(out) == _outputs(tmp_path / "fresh")  # a fresh build's bytes
    fault_ledger.bad_inputs[STEP] += 1


def test_verify_checks_every_pool_file_by_its_content(tmp_path, capsys, fault_ledger):
    pool = _pool(tmp_path)
    db = write_index(tmp_path / "index.db", CONTROL)
    out = tmp_path / "out"

    def run(*extra: str) -> tuple[int, int, int]:
        status, stdout, err = call_main(front.main, _args(db, pool, out, *extra), capsys)
        assert status == 0, err
        return _made(stdout)

    assert run() == (0, 2, 0)
    before = _outputs(out)
    _rewrite_in_place(pool / CONTROL[0][0], seed=50)
    assert run() == (2, 0, 0) and _outputs(out) == before  # a plain file: size, mtime and inode trusted
    assert run("--verify") == (0, 2, 2)  # no content recorded yet: each one made again, and recorded
    assert run("--verify") == (2, 0, 0) and run() == (2, 0, 0)  # the content records stand
    _rewrite_in_place(pool / CONTROL[1][0], seed=51)
    assert run("--verify") == (1, 1, 1)
    assert call_main(front.main, _args(db, pool, tmp_path / "fresh"), capsys)[0] == 0
    assert _outputs(out) == _outputs(tmp_path / "fresh")
    fault_ledger.bad_inputs[STEP] += 1
