"""Step 1 --annotations end to end: long synthetic recordings with known events become clips."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3

import numpy as np
import soundfile as sf

import create_augmented_pool
import create_balanced_index

SR = 8000
RAVEN_HEADER = ("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\t"
                "Species\n")


def _night(path, seconds, events, *, sr=SR, seed=0, freq=1000.0):
    """A noise floor with a tone at each (start, end) event; returns the samples as written (int16)."""
    rng = np.random.default_rng(seed)
    x = 0.01 * rng.standard_normal(int(seconds * sr))
    for start, end in events:
        i, j = int(start * sr), max(int(end * sr), int(start * sr) + 1)
        x[i:j] += 0.5 * np.sin(2 * np.pi * freq * np.arange(j - i) / sr)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.astype(np.float32), sr, subtype="PCM_16")
    return sf.read(path, dtype="int16")[0]


def _field_data(tmp_path):
    """Two sites: a Raven table (owl, bat, an ignored human), an Audacity track, a BirdNET CSV."""
    audio, tables = tmp_path / "audio", tmp_path / "tables"
    raven_events = [(10, 11), (30, 31.5), (70, 70.5), (100, 112), (150, 151)]
    _night(audio / "site1" / "n1.wav", 180, raven_events, seed=1)
    (tables / "site1").mkdir(parents=True)
    (tables / "site1" / "n1.Table.1.selections.txt").write_text(
        RAVEN_HEADER
        + "1\tWaveform 1\t1\t10\t11\t500\t1500\tStrix aluco\n"
        + "1\tSpectrogram 1\t1\t10\t11\t500\t1500\tStrix aluco\n"
        + "2\tSpectrogram 1\t1\t30\t31.5\t500\t1500\tPipistrellus\n"
        + "3\tSpectrogram 1\t1\t70\t70.5\t500\t1500\tStrix aluco\n"
        + "4\tSpectrogram 1\t1\t100\t112\t500\t1500\tStrix aluco\n"
        + "5\tSpectrogram 1\t1\t150\t151\t500\t1500\tHuman\n", newline="\r\n")
    _night(audio / "site2" / "n2.wav", 120, [(20, 21), (21, 22.5), (80, 81)], seed=2)
    (tables / "site2").mkdir()
    (tables / "site2" / "n2.txt").write_text("20\t21\tStrix aluco\n\\\t400\t1400\n21\t22.5\tStrix aluco\n"
                                             "80\t81\tPipistrellus\n")
    _night(audio / "site2" / "n3.wav", 90, [(5, 8), (40, 43), (60, 63)], seed=3)
    (tables / "site2" / "n3.BirdNET.results.csv").write_text(
        "Start (s),End (s),Scientific name,Common name,Confidence\n"
        "5.0,8.0,Strix aluco,Tawny Owl,0.9\n40.0,43.0,Strix aluco,Tawny Owl,0.2\n"
        "60.0,63.0,nocall,nocall,0.95\n")
    (tmp_path / "map.csv").write_text("label,class\nStrix aluco,owl\nPipistrellus,bat\nHuman,ignore\n")
    return audio, tables


def _run(tmp_path, *args, pool="pool"):
    out = tmp_path / pool
    code = create_augmented_pool.main(["--audio-root", str(tmp_path / "audio"), "--annotations",
                                       str(tmp_path / "tables"), "--output-dir", str(out), "--label-map",
                                       str(tmp_path / "map.csv"), "--num-workers", "1", "-q",
                                       "--augmentations", "volume", *args])
    meta = json.loads((out / "pool_metadata.json").read_text(encoding="utf-8"))
    return code, out, meta


def _originals(meta, cls):
    return [f for f in meta["classes"].get(cls, {"files": []})["files"] if f["type"] == "original"]


def _covers(clip, start, end):
    first = clip["offset_seconds"]
    return first <= start and end <= first + clip["frames"] / clip["samplerate"]


def _digest(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_mapped_event_gets_a_covering_clip_of_its_class_and_nothing_else(tmp_path):
    audio, _ = _field_data(tmp_path)
    code, pool, meta = _run(tmp_path, "--clip", "4", "--target-samples", "12",
                            "--background-class", "background", "--tables-are-exhaustive",
                            "--max-per-recording", "6")
    assert code == 0
    owl, bat, bg = (_originals(meta, c) for c in ("owl", "bat", "background"))
    wanted = {"owl": [("site1/n1.wav", 10, 11), ("site1/n1.wav", 70, 70.5), ("site1/n1.wav", 100, 112),
                      ("site2/n2.wav", 20, 22.5), ("site2/n3.wav", 5, 8)],
              "bat": [("site1/n1.wav", 30, 31.5), ("site2/n2.wav", 80, 81)]}
    for cls, clips in (("owl", owl), ("bat", bat)):
        for src, start, end in wanted[cls]:
            if end - start <= 4:
                assert any(c["source"] == src and _covers(c, start, end) for c in clips), (cls, src, start)
            else:  # tiled: every second of it in some clip
                assert all(any(c["source"] == src and _covers(c, t, min(t + 1, end)) for c in clips)
                           for t in range(start, end))
    # nothing from the nocall row (60 s) of n3
    assert all(c["source"] != "site2/n3.wav" or c["offset_seconds"] + 4 <= 60 for c in owl + bat + bg)
    # background: only from annotators' recordings, at least one clip from every event (the ignored one too)
    assert bg and {c["source"] for c in bg} <= {"site1/n1.wav", "site2/n2.wav"}
    events = {"site1/n1.wav": [(10, 11), (30, 31.5), (70, 70.5), (100, 112), (150, 151)],
              "site2/n2.wav": [(20, 22.5), (80, 81)]}
    for c in bg:
        a = c["offset_seconds"]
        assert all(a + 8 <= s or a >= e + 4 for s, e in events[c["source"]]), c
    # a clip holds the recording's samples from its offset, and says which rows it came from
    first = owl[0]
    samples = sf.read(audio / first["source"], dtype="int16")[0]
    clip = sf.read(pool / "owl" / first["filename"], dtype="int16")[0]
    assert np.array_equal(clip, samples[first["offset"]: first["offset"] + first["frames"]])
    assert first["offset_seconds"] == first["offset"] / SR
    assert {(e["table"], e["line"], e["label"], e["class"]) for e in first["events"]} <= {
        ("site1/n1.Table.1.selections.txt", n, "Strix aluco", "owl") for n in (3, 5, 6)}
    # what was read, per table and per class
    record = json.loads((pool / "annotations.json").read_text(encoding="utf-8"))
    fates = {t["table"]: t["fates"] for t in record["tables"]}
    assert fates["site1/n1.Table.1.selections.txt"] == {"used": 4, "ignored": 1, "view duplicate": 1}
    assert fates["site2/n2.txt"] == {"used": 2, "merged": 1}
    assert fates["site2/n3.BirdNET.results.csv"] == {"used": 2, "nocall": 1}
    assert record["classes"]["bat"] == {"events": 2, "clips": 2, "kept": 2, "recordings": 2}


def test_min_confidence_keeps_no_clip_of_a_detection_below_it(tmp_path, capsys):
    _field_data(tmp_path)
    code, pool, meta = _run(tmp_path, "--clip", "4", "--target-samples", "3", "--min-confidence", "0.5")
    out = capsys.readouterr().out
    assert code == 1  # the annotators' tables have no confidence column: named, left out
    assert "skipped: site2/n2.txt: --min-confidence needs a confidence column; this table has none" in out
    clips = _originals(meta, "owl")
    assert [(c["source"], c["offset_seconds"]) for c in clips] == [("site2/n3.wav", 4.5)]
    record = json.loads((pool / "annotations.json").read_text(encoding="utf-8"))
    assert record["tables"][0]["fates"] == {"used": 1, "below confidence": 1, "nocall": 1}


def test_reruns_give_the_same_bytes_and_step_2_keeps_each_recordings_clips_in_one_split(tmp_path):
    _field_data(tmp_path)
    args = ("--clip", "4", "--target-samples", "10")
    _, pool, _ = _run(tmp_path, *args)
    before = _digest(pool)
    _run(tmp_path, *args)
    assert _digest(pool) == before
    _, fresh, fresh_meta = _run(tmp_path, *args, pool="fresh")  # a fresh build differs in created_at only
    meta = json.loads((pool / "pool_metadata.json").read_text(encoding="utf-8"))
    assert {k: v for k, v in fresh_meta.items() if k != "created_at"} == {
        k: v for k, v in meta.items() if k != "created_at"}
    run_records = ("pool_metadata", ".", "step_outcome")  # created_at, and the checksum of the metadata
    assert {k: v for k, v in _digest(fresh).items() if not k.startswith(run_records)} == {
        k: v for k, v in before.items() if not k.startswith(run_records)}
    db = tmp_path / "index.db"
    assert create_balanced_index.main(["--pool-dir", str(pool), "--output-db", str(db), "-q"]) in (0, 1)
    source = {f"{c}/{f['filename']}": f["source"] for c, e in meta["classes"].items() for f in e["files"]}
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT file_path, class_name, split FROM audio_samples").fetchall()
    splits: dict[tuple[str, str], set[str]] = {}
    for path, cls, split in rows:
        splits.setdefault((cls, source[path]), set()).add(split)
    assert len(rows) == sum(e["total_count"] for e in meta["classes"].values())
    assert all(len(s) == 1 for s in splits.values()), splits


def test_the_missing_recording_and_the_recording_without_table_are_named(tmp_path, capsys):
    _field_data(tmp_path)
    (tmp_path / "audio" / "site2" / "n3.wav").rename(tmp_path / "audio" / "site2" / "n3_renamed.wav")
    code, _, meta = _run(tmp_path, "--clip", "4", "--target-samples", "3")
    out = capsys.readouterr().out
    assert code == 1
    assert "skipped: site2/n3.BirdNET.results.csv: its recording is missing: no recording for n3" in out
    assert "skipped: site2/n3_renamed.wav: no table names this recording" in out
    assert ({f["source"] for c in meta["classes"].values() for f in c["files"]} ==
            {"site1/n1.wav", "site2/n2.wav"})


def test_a_bat_night_at_256_khz_keeps_its_rate_in_quarter_second_clips(tmp_path):
    sr = 256_000
    calls = [(t, t + 0.005) for t in (1.0, 2.5, 4.0, 7.25, 9.9)]
    samples = _night(tmp_path / "audio" / "bats.wav", 10, calls, sr=sr, freq=45_000.0)
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "bats.txt").write_text(
        "".join(f"{s}\t{e}\tPIPPIP\n\\\t40000\t55000\n" for s, e in calls))
    (tmp_path / "map.csv").write_text("PIPPIP,bat\n")
    code, pool, meta = _run(tmp_path, "--clip", "0.25", "--animal-type", "bat", "--target-samples", "5")
    assert code == 0
    clips = _originals(meta, "bat")
    assert (len(clips) == 5 and {c["samplerate"] for c in clips} ==
            {sr} and {c["frames"] for c in clips} == {64000})
    for c, (s, e) in zip(clips, calls, strict=True):
        data, rate = sf.read(pool / "bat" / c["filename"], dtype="int16")
        assert rate == sr and np.array_equal(data, samples[c["offset"]: c["offset"] + 64000])
        assert _covers(c, s, e) and c["events"][0]["high_freq"] == 55000.0


def test_specific_class_plans_only_that_class_of_the_labels(tmp_path, capsys):
    _field_data(tmp_path)
    out = tmp_path / "pool"
    code = create_augmented_pool.main(["--audio-root", str(tmp_path / "audio"), "--annotations",
                                       str(tmp_path / "tables"), "--output-dir", str(out), "--label-map",
                                       str(tmp_path / "map.csv"), "--num-workers", "1", "-q", "--clip", "4",
                                       "--specific-class", "bat", "--dry-run"])
    printed = capsys.readouterr().out
    assert code == 0 and not out.exists()
    plan, summary = printed.split("tables:")
    assert re.search("^bat +2 +2", plan, re.M) and "owl" not in plan
    assert re.search("^owl +7 +8 +0 +3$", summary, re.M)  # read and planned, none kept in this run


def test_the_pool_records_its_tables_relative_to_it_and_only_options_set(tmp_path):
    from nightscan_common.steps.pool_options import PoolOptions

    opts = PoolOptions(annotations=(tmp_path / "tables", tmp_path / "more.csv"), clip=4.0)
    identity = opts.identity(tmp_path / "pool")
    assert identity["annotations"] == ["../tables", "../more.csv"] and identity["clip"] == 4.0
    assert "background_class" not in identity  # at its default: not recorded


def test_a_header_only_table_makes_a_reviewed_recording_a_source_of_background_only(tmp_path, capsys):
    _night(tmp_path / "audio" / "quiet.wav", 40, [])
    (tmp_path / "tables").mkdir()
    (tmp_path / "tables" / "quiet.Table.1.selections.txt").write_text(RAVEN_HEADER)
    (tmp_path / "map.csv").write_text("x,y\n")
    out = tmp_path / "pool"
    code = create_augmented_pool.main(["--audio-root", str(tmp_path / "audio"), "--annotations",
                                       str(tmp_path / "tables"), "--output-dir", str(out), "-q", "--dry-run",
                                       "--num-workers", "1", "--clip", "4", "--background-class", "bg",
                                       "--exhaustive", "quiet.*"])
    printed = capsys.readouterr().out
    assert code == 0 and re.search("^bg +10 +10", printed, re.M)  # 0, 4, ... 36 s
