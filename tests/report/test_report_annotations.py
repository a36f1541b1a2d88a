"""The report's section on an annotated pool (``report/data.py::annotations``, ``html.py``): each
table with the fates of its rows, each recording's timeline with its clips and their splits."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
import soundfile as sf

import create_augmented_pool
import create_balanced_index
from nightscan_common.report import build_report, data
from nightscan_common.report.inputs import read_annotations, read_pool_inputs

SR = 8000
RAVEN = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\n"
#: recording -> its events (start, end, label)
NIGHTS = {"site1/n1.wav": [(10, 11, "Strix aluco"), (30, 31.5, "Pipistrellus"), (50, 51, "Human")],
          "site2/n2.wav": [(5, 6, "Strix aluco"), (20, 21, "Strix aluco"), (40, 41, "Pipistrellus")]}


def _night(path, seconds, events, *, seed):
    """A noise floor with a 1 kHz tone at each event (as the step 1 tests make them)."""
    rng = np.random.default_rng(seed)
    x = 0.01 * rng.standard_normal(int(seconds * SR))
    for start, end, _ in events:
        n = int((end - start) * SR)
        x[int(start * SR):int(start * SR) + n] += 0.5 * np.sin(2 * np.pi * 1000 * np.arange(n) / SR)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, x.astype(np.float32), SR, subtype="PCM_16")


@pytest.fixture(scope="module")
def annotated(tmp_path_factory):
    """Two recordings (a Raven table with a view duplicate and an ignored label; an Audacity track),
    step 1 with --annotations, step 2, and the report (no step 3)."""
    root = tmp_path_factory.mktemp("annotated")
    for i, (rec, events) in enumerate(NIGHTS.items()):
        _night(root / "audio" / rec, 60, events, seed=i + 1)
    tables = root / "tables"
    (tables / "site1").mkdir(parents=True)
    (tables / "site1" / "n1.Table.1.selections.txt").write_text(
        RAVEN + "1\tWaveform 1\t1\t10\t11\t500\t1500\tStrix aluco\n"
        + "".join(f"{n}\tSpectrogram 1\t1\t{s}\t{e}\t500\t1500\t{lab}\n"
                  for n, (s, e, lab) in enumerate(NIGHTS["site1/n1.wav"], 1)))
    (tables / "site2").mkdir()
    (tables / "site2" / "n2.txt").write_text("".join(f"{s}\t{e}\t{lab}\n"
                                                     for s, e, lab in NIGHTS["site2/n2.wav"]))
    (root / "map.csv").write_text("label,class\nStrix aluco,owl\nPipistrellus,bat$\nHuman,ignore\n")
    pool, db = root / "pool", root / "index.db"
    assert create_augmented_pool.main(["--audio-root", str(root / "audio"), "--annotations", str(tables),
                                       "--output-dir", str(pool), "--label-map", str(root / "map.csv"),
                                       "--clip", "4", "--target-samples", "4", "--augmentations", "volume",
                                       "--num-workers", "1", "-q"]) == 0
    assert create_balanced_index.main(["--pool-dir", str(pool), "--output-db", str(db), "-q"]) in (0, 1)
    result = build_report(pool, db, None, root / "report")
    return pool, db, result, json.loads((root / "report" / "report.json").read_text(encoding="utf-8"))


def test_the_section_lists_each_table_with_the_fates_of_its_rows(annotated):
    pool, _, result, record = annotated
    written = json.loads((pool / "annotations.json").read_text(encoding="utf-8"))
    section = record["annotations"]
    assert {t["table"]: (t["rows"], t["fates"]) for t in section["tables"]} == {
        "site1/n1.Table.1.selections.txt": (4, {"used": 2, "ignored": 1, "view duplicate": 1}),
        "site2/n2.txt": (3, {"used": 3})}
    assert {t["table"]: t["fates"] for t in section["tables"]} == {t["table"]: t["fates"]
                                                                     for t in written["tables"]}
    assert {c["name"]: (c["events"], c["clips"]) for c in section["classes"]} == {
        "bat$": (2, 2), "owl": (3, 3)}
    page = result.html_path.read_text(encoding="utf-8")
    tables = page.split('id="annotation-tables"')[1].split("</table>")[0]
    assert "<th>view duplicate</th>" in tables and "<td>site1/n1.Table.1.selections.txt</td>" in tables
    assert "From recordings and tables" in page and "bat$" in page


def test_each_recordings_timeline_holds_its_clips_with_their_splits(annotated):
    _, db, result, record = annotated
    with sqlite3.connect(db) as con:
        split = dict(con.execute("SELECT file_path, split FROM audio_samples WHERE is_augmented = 0"))
    con.close()
    meta = read_pool_inputs(annotated[0])
    clips = {(f.source, f"{c}/{f.name}") for c, files in meta.classes.items() for f in files
             if not f.is_augmented}
    timelines = {t["recording"]: t for t in record["annotations"]["timelines"]}
    assert sorted(timelines) == sorted(NIGHTS) and record["annotations"]["recordings"] == 2
    page = result.html_path.read_text(encoding="utf-8")
    for rec, t in timelines.items():
        assert {c["file"] for c in t["clips"]} == {f for s, f in clips if s == rec}
        assert all(c["split"] == split[c["file"]] for c in t["clips"])
        assert len({c["split"] for c in t["clips"]}) == 1  # a recording's clips: one split
        mapped = {(s, e) for s, e, lab in NIGHTS[rec] if lab != "Human"}
        assert {(e["start"], e["end"]) for e in t["events"]} == mapped
        assert all(any(c["start"] <= e["start"] and e["end"] <= c["end"] for c in t["clips"])
                   for e in t["events"])
        drawn = page.split(f'data-recording="{rec}"')[1].split("</svg>")[0]
        drawn_splits = [part.split('"')[0] for part in drawn.split('data-split="')[1:]]
        assert sorted(drawn_splits) == sorted(c["split"] for c in t["clips"])


def test_at_most_the_cap_of_recordings_is_drawn_and_the_rest_is_counted(annotated):
    pool, db, _, _ = annotated
    section = data.annotations(read_pool_inputs(pool), read_annotations(pool), db, limit=1)
    assert [t.recording for t in section.timelines] == ["site1/n1.wav"] and section.recordings == 2
    from nightscan_common.report.html import _annotations

    assert "1 of 2 recordings drawn (the first by path); 1 left out." in _annotations(section)


def test_a_pool_without_tables_has_no_section_and_a_bad_record_is_refused(annotated, tmp_path):
    from nightscan_common.errors import UsageError

    assert read_annotations(tmp_path) is None
    (tmp_path / "annotations.json").write_text('{"tables": 3}')
    with pytest.raises(UsageError, match="not step 1's record of its tables"):
        read_annotations(tmp_path)


def test_the_same_annotated_inputs_give_the_same_bytes(annotated, tmp_path):
    pool, db, result, _ = annotated
    again = build_report(pool, db, None, tmp_path / "again")
    assert again.html_path.read_bytes() == result.html_path.read_bytes()
    assert again.json_path.read_bytes() == result.json_path.read_bytes()


def test_a_corrupt_annotations_json_is_one_error_line_and_nothing_written(annotated, tmp_path, capsys):
    import shutil

    import make_report

    pool, db, _, _ = annotated
    copy = tmp_path / "pool"
    shutil.copytree(pool, copy)
    (copy / "annotations.json").write_text('{"tables": [1], "classes": {}}')
    code = make_report.main(["--pool-dir", str(copy), "--index-db", str(db), "--output-dir",
                             str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and not (tmp_path / "out").exists()
    assert len(err) == 1 and err[0].startswith("error: ") and "annotations.json" in err[0]
