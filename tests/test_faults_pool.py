"""Step 1 under faults: bad inputs, interruptions, dying and hung workers, a full disk.

Every case checks the exit status, a message naming the file and the reason, that
every other file is done, that nothing is half-written under a final name and that the
audio root is untouched.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from pool_helpers import metadata, run_pool, without_timestamps

import create_augmented_pool as front
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.execution.process_pool import WORKER_DIED
from nightscan_common.io.atomic_write import atomic_path
from nightscan_common.steps import pool_checks, pool_worker
from nightscan_common.steps.pool import JOURNAL_FILENAME

SCRIPT = "create_augmented_pool.py"
STEP = "step 1"
#: Cheap options: one augmentation type that needs no numba warm-up, two workers.
FAST = ["--target-samples", "4", "--augmentations", "volume", "--num-workers", "2", "-q"]
#: The control class's pool: two originals, one augmentation each.
CONTROL = ["rec_0_aug001_volume.wav", "rec_0_original.wav", "rec_1_aug001_volume.wav",
           "rec_1_original.wav"]


def _clip(path: Path, seed: int = 0, **kw) -> None:
    kw.setdefault("seconds", 0.3)
    kw.setdefault("samplerate", 8000)
    write_recording(path, seed=seed, **kw)


def _root(tmp_path: Path) -> Path:
    """``owl``: two good clips, the control; ``mix``: one good clip, beside the case's faults."""
    root = tmp_path / "audio"
    for i in range(2):
        _clip(root / "owl" / f"rec_{i}.wav", seed=i)
    _clip(root / "mix" / "ok.wav", seed=9)
    return root


@pytest.fixture(scope="module")
def control_outputs(tmp_path_factory) -> dict[str, str]:
    """The control class's files as a clean run writes them (they never depend on ``mix``)."""
    base = tmp_path_factory.mktemp("control")
    root = _root(base)
    shutil.rmtree(root / "mix")
    assert front.main(["--audio-root", str(root), "--output-dir", str(base / "pool"), *FAST]) == 0
    outputs = {k: v for k, v in snapshot(base / "pool").items() if k.startswith("owl/")}
    assert sorted(k.split("/")[1] for k in outputs) == CONTROL
    return outputs


# ---------------------------------------------------------------- bad inputs, one table


def _missing_root(root, tmp):
    shutil.rmtree(root)


def _empty_root(root, tmp):
    shutil.rmtree(root)
    root.mkdir()


def _class_without_audio(root, tmp):
    (root / "heron").mkdir()
    (root / "heron" / "notes.txt").write_text("no audio here")


def _not_audio(root, tmp):
    (root / "mix" / "fake.wav").write_text("a text file with an audio extension")


def _truncated_wav(root, tmp):
    _clip(root / "mix" / "whole.wav", seed=3)
    data = (root / "mix" / "whole.wav").read_bytes()
    (root / "mix" / "whole.wav").unlink()
    (root / "mix" / "cut.wav").write_bytes(data[: len(data) * 2 // 3])


def _truncated_flac(root, tmp):
    _clip(root / "mix" / "whole.flac", seed=3, seconds=2.0)
    data = (root / "mix" / "whole.flac").read_bytes()
    (root / "mix" / "whole.flac").unlink()
    (root / "mix" / "cut.flac").write_bytes(data[: len(data) // 2])


def _zero_length(root, tmp):
    (root / "mix" / "empty.wav").write_bytes(b"")


def _silent(root, tmp):
    sf.write(root / "mix" / "silent.wav", np.zeros(2400, np.float32), 8000)


def _silent_kept(root, tmp):
    _silent(root, tmp)
    return ["--keep-quiet-files"]


def _few_samples(root, tmp):
    sf.write(root / "mix" / "few.wav", np.array([0.1, -0.2, 0.05], np.float32), 8000)


def _few_samples_kept(root, tmp):
    _few_samples(root, tmp)
    return ["--min-duration", "0"]


FORMATS = {  # name: write_recording arguments
    "u8.wav": dict(samplerate=8000, subtype="PCM_U8"),
    "s24.wav": dict(samplerate=44100, channels=2, subtype="PCM_24"),
    "s32.wav": dict(samplerate=96000, subtype="PCM_32"),
    "f32.wav": dict(samplerate=48000, subtype="FLOAT"),
    "six.wav": dict(samplerate=22050, channels=6),
    "hi.flac": dict(samplerate=192000, subtype="PCM_24"),
    "c.mp3": dict(samplerate=16000), "d.ogg": dict(samplerate=32000, channels=2),
    "e.aiff": dict(samplerate=11025),
}


def _formats(root, tmp):
    for i, (name, kw) in enumerate(FORMATS.items()):
        _clip(root / "mix" / name, seed=20 + i, seconds=0.2, **kw)
    return ["--keep-all-originals"]


NAMES = ["a b.wav", "é à.flac", "q'\"uote.ogg", "new\nline.wav"]


def _odd_names(root, tmp):
    for i, name in enumerate(NAMES):
        _clip(root / "mix" / name, seed=30 + i)
    return ["--keep-all-originals"]


def _symlink_loops(root, tmp):
    os.symlink("self.wav", root / "mix" / "self.wav")  # a loop of links: ELOOP
    os.symlink("..", root / "mix" / "up")  # the audio root: would bring in owl's files
    (root / "mix" / "sub").mkdir()
    os.symlink("..", root / "mix" / "sub" / "back")  # the class folder itself


def _output_inside_input(root, tmp):
    return ["--output-dir", root / "pool"]


def _output_through_a_file(root, tmp):
    (tmp / "afile").write_text("a file where a folder should be")
    return ["--output-dir", tmp / "afile" / "pool"]


def _pool_of_other_options(root, tmp):
    assert front.main(["--audio-root", str(root), "--output-dir", str(tmp / "pool"), *FAST,
                       "--target-samples", "3"]) == 0


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path, Path], list | None]
    status: int
    says: tuple[str, ...]  # regexes the output must match (stdout and stderr)
    skipped: tuple[str, ...] = ()  # sources listed as skipped
    kept: tuple[str, ...] = ()  # sources of mix kept as originals, besides ok.wav


CASES = [
    Case("missing audio root", _missing_root, 2,
         (r"^error: audio root not found or not a folder: .*audio$",)),
    Case("empty audio root", _empty_root, 2, (r"^error: the audio root .*audio has no class folders",)),
    Case("class folder with no audio", _class_without_audio, 1,
         (r"class heron: no usable audio file", r"ignored: heron: 1 non-audio file")),
    Case("audio extension, not audio", _not_audio, 1,
         (r"skipped: mix/fake\.wav: not a readable audio file",), skipped=("mix/fake.wav",)),
    Case("truncated wav", _truncated_wav, 1,
         (r"skipped: mix/cut\.wav: truncated: the header declares \d+ frames, the file holds \d+",),
         skipped=("mix/cut.wav",)),
    Case("truncated flac", _truncated_flac, 1,
         (r"skipped: mix/cut\.flac: (truncated|corrupt audio data)",), skipped=("mix/cut.flac",)),
    Case("zero-length file", _zero_length, 1, (r"skipped: mix/empty\.wav: empty file \(0 bytes\)",),
         skipped=("mix/empty.wav",)),
    Case("silent file", _silent, 1,
         (r"^left out: mix/silent\.wav: digital silence: every sample of its 0\.300 s is zero$",),
         skipped=("mix/silent.wav",)),
    Case("silent file, --keep-quiet-files", _silent_kept, 0,
         (r"mix/silent\.wav: digital silence: .*; kept \(--keep-quiet-files\)",), kept=("silent.wav",)),
    Case("a few samples", _few_samples, 1,
         (r"^left out: mix/few\.wav: too short: 0\.000 s is below --min-duration 0\.1 s$",),
         skipped=("mix/few.wav",)),
    Case("a few samples, --min-duration 0", _few_samples_kept, 0, (r"^mix\s+2\s+2\s+1\s+4\s+ok$",),
         kept=("few.wav",)),
    Case("8-bit to float, 6 channels, 8 to 192 kHz", _formats, 0, (r"^mix\s+10\s+10\s",),
         kept=tuple(FORMATS)),
    Case("spaces, accents, quotes, newline", _odd_names, 0, (r"^mix\s+5\s+5\s",),
         kept=tuple(NAMES)),
    Case("symlink loops", _symlink_loops, 0,
         (r"mix/self\.wav: a link loop", r"mix/up: a link loop", r"mix/sub/back: a link loop")),
    Case("output folder inside the input", _output_inside_input, 2,
         (r"^error: the output folder .*pool is inside the audio root",)),
    Case("output folder through a file (unwritable)", _output_through_a_file, 2,
         (r"^error: cannot write to .*afile/pool \(a part of .*afile/pool is a file, not a folder\)",)),
    Case("pool made with other options", _pool_of_other_options, 2,
         (r"^error: .*pool holds a pool made with other options \(target_samples \d+ -> \d+\); "
          r"use --overwrite",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path, capsys, control_outputs, fault_ledger):
    root = _root(tmp_path)
    out = tmp_path / "pool"
    extra = case.build(root, tmp_path) or []
    before_in, before_out = snapshot(root), snapshot(out)
    status, stdout, stderr = call_main(front.main, ["--audio-root", root, "--output-dir", out, *FAST,
                                                    *extra], capsys)
    fault_ledger.bad_inputs[STEP] += 1
    assert status == case.status, stderr
    text = stdout + stderr
    for pattern in case.says:
        assert re.search(pattern, text, re.M), f"{pattern!r} not in:\n{text}"
    assert "Traceback" not in stderr
    assert fault_ledger.account(before_in, snapshot(root)) == [], "the audio root changed"
    if status == 2:
        assert snapshot(out) == before_out, "a refused run wrote to the output"
        return
    assert temporaries(out) == [] and not (out / JOURNAL_FILENAME).exists()
    meta = metadata(out)
    assert sorted(s["path"] for s in meta["skipped"]) == sorted(case.skipped)
    owl = {k: v for k, v in snapshot(out).items() if k.startswith("owl/")}
    assert fault_ledger.account(control_outputs, owl) == [], "the control class lost files"
    files = meta["classes"]["mix"]["files"]
    assert set(os.listdir(out / "mix")) == {f["filename"] for f in files}, "files the metadata does not list"
    originals = {f["source"]: f["filename"] for f in files if f["type"] == "original"}
    assert set(originals) == {"ok.wav", *case.kept}  # nothing skipped, nothing from elsewhere
    expected = {s: snapshot(root / "mix")[s] for s in originals}  # the original's bytes, unchanged
    assert fault_ledger.account(expected, {s: snapshot(out / "mix")[n] for s, n in originals.items()}) == []


def test_an_hour_long_recording_is_checked_with_flat_memory(hour_long_wav, tmp_path, fault_ledger):
    """Decoding the hour whole would take 115 MB as float32; checking it must not."""
    long_root, short_root = hour_long_wav.parents[1], hour_long_wav.parents[2] / "short"
    runs = [["--audio-root", root, "--output-dir", tmp_path / name, "--target-samples", "1",
             "--num-workers", "1", "-q"] for root, name in ((short_root, "short"), (long_root, "long"))]
    (short_status, short_peak), (long_status, long_peak) = peak_memory_kb("create_augmented_pool", runs)
    fault_ledger.bad_inputs[STEP] += 1
    whole_kb = sf.info(hour_long_wav).frames * 4 // 1024
    assert short_status == long_status == 0
    assert long_peak - short_peak < whole_kb // 4, (short_peak, long_peak)
    copy = tmp_path / "long" / "owl" / "hour_original.wav"
    expected = {"hour": hashlib.sha256(hour_long_wav.read_bytes()).hexdigest()}
    assert fault_ledger.account(expected, {"hour": hashlib.sha256(copy.read_bytes()).hexdigest()}) == []


# ---------------------------------------------------------------- interruptions


INTERRUPT_ARGS = ["--target-samples", "6", "--augmentations", "volume,noise", "--num-workers", "1", "-q"]


@pytest.fixture(scope="module")
def interrupt_reference(tmp_path_factory) -> tuple[Path, Path]:
    """An audio root of two classes of three clips, and its pool from an uninterrupted run."""
    base = tmp_path_factory.mktemp("interrupt")
    root = base / "audio"
    for c, cls in enumerate(("owl", "bat")):
        for i in range(3):
            _clip(root / cls / f"rec_{i}.wav", seed=10 * c + i)
    ref = base / "ref"
    run_pool(root, ref, target_samples=6, augmentations=("volume", "noise"), num_workers=2)
    return root, ref


#: Where to stop the run: the function that pauses, on which call, before or after it.
POINTS = {
    "checking originals": ("nightscan_common.steps.pool_checks:probe_original", 3, False),
    "an augmentation written, not renamed": ("pathlib:Path.write_bytes", 3, True),
    "all files done, before the metadata": ("nightscan_common.steps.pool:write_json", 1, False),
}


@pytest.mark.parametrize(("sig", "point"), [(signal.SIGKILL, p) for p in POINTS] +
                         [(signal.SIGINT, "an augmentation written, not renamed")],
                         ids=[f"SIGKILL-{p}" for p in POINTS] + ["SIGINT"])
def test_an_interrupted_run_is_finished_by_a_rerun(sig, point, interrupt_reference, tmp_path, capsys,
                                                   fault_ledger):
    root, ref = interrupt_reference
    out = ref.parent / f"pool-{tmp_path.name}"  # beside the reference: the same relative audio root
    args = ["--audio-root", root, "--output-dir", out, *INTERRUPT_ARGS]
    before_in = snapshot(root)
    pause, nth, after = POINTS[point]
    proc, marker = start_paused(tmp_path, SCRIPT, args, pause=pause, nth=nth, after=after)
    wait_for_pause(proc, marker)
    if sig == signal.SIGKILL and point == "an augmentation written, not renamed":
        status, _, err = call_main(front.main, args, capsys)  # a second run, at the same time
        assert status == 2 and f"error: another run is writing to {out}" in err
    interrupt(proc, sig)
    assert wait_until_gone(proc.pid) == [], "worker processes outlived the run"
    assert half_written(out, ref) == [], "a partial file under a final name"
    assert not (out / "pool_metadata.json").exists()

    status, _, err = call_main(front.main, args, capsys)
    assert status == 0, err
    fault_ledger.interruptions[STEP] += 1
    skip = ("pool_metadata.json",)
    expected = {k: v for k, v in final_files(ref).items() if k not in skip}
    got = {k: v for k, v in final_files(out).items() if k not in skip}
    assert fault_ledger.account(expected, got) == [] and got.keys() == expected.keys()
    assert without_timestamps(metadata(out)) == without_timestamps(metadata(ref))
    assert temporaries(out) == [] and not (out / JOURNAL_FILENAME).exists()
    assert fault_ledger.account(before_in, snapshot(root)) == []


# ---------------------------------------------------------------- workers that die or hang


def test_dead_hung_and_stuck_workers_are_reported_and_the_rest_done(tmp_path, capsys, monkeypatch,
                                                                    control_outputs, fault_ledger):
    """One original kills its worker while writing, one hangs its check (Python-level),
    one is stuck where the timeout's handler cannot run (native code)."""
    root = _root(tmp_path)
    for name in ("die.wav", "hang.wav", "stuck.wav"):
        _clip(root / "mix" / name, seed=len(name))
    real_place, real_probe = pool_worker._place_original, pool_checks.probe_and_audit

    def faulty_place(source, target, link_mode):
        if source.endswith("die.wav"):
            with atomic_path(target) as tmp:  # half a file, then the OOM killer
                tmp.write_bytes(b"RIFF half")
                os.kill(os.getpid(), signal.SIGKILL)
        if source.endswith("stuck.wav"):  # as if looping in C: the alarm never gets through
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(60)
        real_place(source, target, link_mode)

    def hanging_probe(path):
        if str(path).endswith("hang.wav"):
            time.sleep(60)
        return real_probe(path)

    monkeypatch.setattr(pool_worker, "_place_original", faulty_place)
    monkeypatch.setattr(pool_checks, "probe_and_audit", hanging_probe)
    out = tmp_path / "pool"
    started = time.monotonic()
    status, stdout, stderr = call_main(front.main, ["--audio-root", root, "--output-dir", out, *FAST], capsys,
                                       timeout=2.0)
    assert time.monotonic() - started < 60
    fault_ledger.worker_faults[STEP] += 3
    assert status == 1, stderr
    assert f"skipped: mix/die.wav: {WORKER_DIED}" in stdout
    assert "skipped: mix/hang.wav: timed out after 2 s" in stdout
    assert f"skipped: mix/stuck.wav: {WORKER_DIED}" in stdout
    assert temporaries(out) == []
    owl = {k: v for k, v in snapshot(out).items() if k.startswith("owl/")}
    assert fault_ledger.account(control_outputs, owl) == []
    listed = {f["filename"] for f in metadata(out)["classes"]["mix"]["files"]}
    assert set(os.listdir(out / "mix")) == listed and "ok_original.wav" in listed
    assert not any(n.startswith(("die_", "hang_", "stuck_")) for n in listed)


# ---------------------------------------------------------------- a full disk


def test_a_file_too_large_for_the_disk_stops_the_run_and_a_rerun_completes(tmp_path, capsys,
                                                                          fault_ledger):
    """RLIMIT_FSIZE makes every write past 20 KB fail (EFBIG), as a full disk does."""
    root = _root(tmp_path)
    _clip(root / "mix" / "long.wav", seed=5, seconds=2.0)  # 32 KB: too large
    ref, out = tmp_path / "ref", tmp_path / "pool"
    args = ["--audio-root", root, "--output-dir", out, *FAST]
    assert front.main([str(a) for a in ["--audio-root", root, "--output-dir", ref, *FAST]]) == 0
    res = run_limited(SCRIPT, args, file_size=20_000)
    fault_ledger.disk_faults[STEP] += 1
    assert res.returncode == 3, res.stderr
    assert re.fullmatch(disk_stop_line("File too large", rf"{re.escape(str(out))}/mix/long_\S+\.wav"),
                        res.stderr), res.stderr
    assert half_written(out, ref) == [] and temporaries(out) == []
    assert not (out / "pool_metadata.json").exists()
    status, _, err = call_main(front.main, args, capsys)  # space freed: the same command again
    assert status == 0, err
    skip = ("pool_metadata.json",)
    expected = {k: v for k, v in final_files(ref).items() if k not in skip}
    assert fault_ledger.account(expected, final_files(out)) == [] and temporaries(out) == []
    assert without_timestamps(metadata(out)) == without_timestamps(metadata(ref))


def test_a_run_stopped_by_a_full_disk_leaves_no_half_file_of_the_other_worker(tmp_path, capsys, monkeypatch,
                                                                               fault_ledger):
    """The disk fills while the other worker is halfway through its file: the run stops,
    and that worker's temporary goes with it."""
    root = _root(tmp_path)
    real_place = pool_worker._place_original

    def racing_place(source, target, link_mode):
        if source.endswith(("rec_0.wav", "rec_1.wav")):
            fill_disk_or_write_half(target, fills=source.endswith("rec_0.wav"), half=b"RIFF half")
        real_place(source, target, link_mode)

    monkeypatch.setattr(pool_worker, "_place_original", racing_place)
    out = tmp_path / "pool"
    status, _, err = call_main(front.main, ["--audio-root", root, "--output-dir", out, *FAST], capsys)
    fault_ledger.disk_faults[STEP] += 1
    assert status == 3, err
    assert re.fullmatch(disk_stop_line("No space left on device", r".*/owl/rec_0_original\.wav"), err), err
    assert temporaries(out) == []
