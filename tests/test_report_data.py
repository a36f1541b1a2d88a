"""report.json against the index and the pool metadata it was made from."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter

import pytest
from report_helpers import TARGET, pipeline  # noqa: F401  (the session fixture)

import make_report
import pregenerate_spectrograms_simple
from nightscan_common.report import ListenOptions, ReportOptions, build_report, data, plots
from nightscan_common.report.inputs import FileEntry, PoolInputs, read_spectrogram_inputs
from nightscan_common.report.plots import balance_classes
from nightscan_common.report.record import ClassBalance

SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def built(pipeline, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("report")
    result = build_report(pipeline.pool, pipeline.index, pipeline.spectrograms, out)
    return result, json.loads((out / "report.json").read_text(encoding="utf-8"))


def _sql(db, query):
    with sqlite3.connect(db) as con:
        return con.execute(query).fetchall()


def _metadata(pipeline):  # noqa: F811
    return json.loads((pipeline.pool / "pool_metadata.json").read_text(encoding="utf-8"))


def test_counts_per_class_and_split_are_the_index_counts(pipeline, built):  # noqa: F811
    _, record = built
    rows = Counter()
    for c, s, a, n in _sql(pipeline.index, "SELECT class_name, split, is_augmented, COUNT(*) "
                                           "FROM audio_samples GROUP BY 1, 2, 3"):
        rows[c, s, a] = n
    groups = dict(((c, s), n) for c, s, n in _sql(
        pipeline.index, "SELECT class_name, split, COUNT(DISTINCT group_key) FROM audio_samples "
                        "GROUP BY 1, 2"))
    classes = record["splits"]["classes"]
    assert [c["name"] for c in classes] == ["bat", "owl", "rain"]
    for c in classes:
        assert c["originals"] == [rows[c["name"], s, 0] for s in SPLITS]
        assert c["augmented"] == [rows[c["name"], s, 1] for s in SPLITS]
        assert c["samples"] == [rows[c["name"], s, 0] + rows[c["name"], s, 1] for s in SPLITS]
        assert c["groups"] == [groups.get((c["name"], s), 0) for s in SPLITS]
        total = sum(c["samples"])
        assert c["deviation"] == pytest.approx([n - r * total for n, r in
                                                zip(c["samples"], (0.8, 0.1, 0.1), strict=True)])
    assert record["summary"]["samples"] == sum(rows.values()) == 22
    assert record["summary"]["classes"] == 3


def test_balance_and_short_classes_are_the_metadata(pipeline, built):  # noqa: F811
    _, record = built
    meta = _metadata(pipeline)["classes"]
    for c in record["balance"]:
        files = meta[c["name"]]["files"]
        assert c["total"] == len(files) == meta[c["name"]]["total_count"]
        assert c["augmented"] == sum(f["type"] == "augmented" for f in files)
        assert c["originals_found"] == meta[c["name"]]["original_count"]
        assert c["short_by"] == max(0, TARGET - len(files))
    assert record["summary"]["short_classes"] == ["owl"]
    assert {c["name"]: c["short_by"] for c in record["balance"]} == {"bat": 0, "owl": 2, "rain": 0}


def test_leakage_skipped_and_duplicates(pipeline, built):  # noqa: F811
    _, record = built
    assert record["summary"]["leaking_groups"] == record["splits"]["leaking_groups"] == 0
    skipped = _metadata(pipeline)["skipped"]
    assert [p for p in record["inputs"]["problems"] if p["kind"] == "skipped"] == [
        {"kind": "skipped", "path": s["path"], "reason": s["reason"]} for s in skipped]
    assert [s["path"] for s in skipped] == ["rain/broken.wav"]
    assert record["summary"]["skipped"] == 1
    assert [p for p in record["inputs"]["problems"] if p["kind"] == "duplicate"] == [  # left out by step 1
        {"kind": "duplicate", "path": "rain/rec_000_copy.wav",
         "reason": "the same recording as rain/rec_000.wav; left out"}]
    assert [(s["step"], s["status"]) for s in record["summary"]["steps"]] == [
        ("step 1", 1), ("step 2", 0), ("step 3", 0)]
    assert any("'owl' has no test samples" in w for w in record["splits"]["warnings"])


def test_a_leaking_group_is_counted_and_named(pipeline, tmp_path):  # noqa: F811
    index = tmp_path / "index.db"
    shutil.copy(pipeline.index, index)
    with sqlite3.connect(index) as con:
        key = con.execute("SELECT group_key FROM audio_samples WHERE is_augmented = 1 AND split = 'train' "
                          "ORDER BY file_path LIMIT 1").fetchone()[0]
        con.execute("UPDATE audio_samples SET split = 'test' WHERE id = (SELECT MIN(id) FROM audio_samples "
                    "WHERE group_key = ? AND is_augmented = 1)", (key,))
    out = tmp_path / "out"
    assert make_report.main(["--pool-dir", str(pipeline.pool), "--index-db", str(index),
                             "--output-dir", str(out), "-q"]) == 1  # written, and a problem shown
    record = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert record["summary"]["leaking_groups"] == record["splits"]["leaking_groups"] == 1
    assert record["splits"]["leaking_examples"] == [key]
    assert [(s["step"], s["status"]) for s in record["summary"]["steps"]][1] == ("step 2", 1)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert ('<p class="bad">Leakage check: <b id="leakage">1</b> group(s) in more than one split '
            f"(must be 0): {key}.") in page


def test_inputs_and_augmentations_add_up_to_the_metadata(pipeline, built):  # noqa: F811
    _, record = built
    meta = _metadata(pipeline)["classes"]
    originals = [f for c in meta.values() for f in c["files"] if f["type"] == "original"]
    assert record["inputs"]["originals"] == len(originals) == 11  # the copy of rec_000 left out
    assert sum(record["inputs"]["duration"]["counts"]) == 11
    assert record["inputs"]["sample_rates"] == {"16000": 11}
    assert record["inputs"]["padded_windows"] == 22  # every clip is under the 8 s window
    counts = Counter((f["augmentation"], c) for c, e in meta.items() for f in e["files"]
                     if f["type"] == "augmented")
    per_type = record["augmentations"]["counts"]
    assert {(t, c): n for t, per in per_type.items() for c, n in per.items()} == counts
    rates = [f["params"]["rate"] for e in meta.values() for f in e["files"]
             if f.get("augmentation") == "time_stretch"]
    stretch = next(h for h in record["augmentations"]["params"] if h["label"] == "time_stretch: rate")
    assert sum(stretch["counts"]) == len(rates)
    assert stretch["edges"][0] == pytest.approx(min(rates))
    assert stretch["edges"][-1] == pytest.approx(max(rates))


def test_the_grid_is_seeded_and_shows_step_3s_spectrograms(pipeline, built, tmp_path):  # noqa: F811
    result, record = built
    split_of = dict(_sql(pipeline.index, "SELECT file_path, split FROM audio_samples"))
    shown = record["listen"]["classes"]
    samples = [s for c in shown for st in c["sets"] for s in [st["original"], *st["augmentations"]]]
    assert [c["name"] for c in shown] == ["owl", "bat", "rain"]  # the short class first
    assert [len(c["sets"]) for c in shown] == [2, 2, 2]
    assert all(s["split"] == split_of[s["path"]] and s["spectrogram"] == "step 3" for s in samples)
    assert all(1 <= len(st["augmentations"]) <= 2 for c in shown for st in c["sets"])
    assert all(a["path"].startswith(st["original"]["path"].removesuffix("_original.wav") + "_aug")
               for c in shown for st in c["sets"] for a in st["augmentations"])
    again = build_report(pipeline.pool, pipeline.index, None, tmp_path / "a")
    assert [s.path for s in again.report.listen.samples()] == [s["path"] for s in samples]
    assert {s.spectrogram for s in again.report.listen.samples()} == {"computed"}
    assert again.report.summary.steps[2].status is None
    other = build_report(pipeline.pool, pipeline.index, None, tmp_path / "b",
                         options=ReportOptions(ListenOptions(seed=7, classes=1, originals=1)))
    assert [(c.name, len(c.sets)) for c in other.report.listen.classes] == [("owl", 1)]


@pytest.mark.parametrize("layout", ["packed", "webdataset"])
def test_every_layout_is_shown_with_step_3s_own_spectrograms(pipeline, built, tmp_path, layout):  # noqa: F811
    out = tmp_path / layout
    assert pregenerate_spectrograms_simple.main(
        ["--index-db", str(pipeline.index), "--pool-root", str(pipeline.pool), "--output-dir", str(out),
         "--layout", layout, "--num-workers", "1", "-q"]) == 0
    result = build_report(pipeline.pool, pipeline.index, out, tmp_path / "r")
    tree_samples = [s for c in built[1]["listen"]["classes"] for st in c["sets"]
                    for s in [st["original"], *st["augmentations"]]]
    samples = list(result.report.listen.samples())
    assert [s.path for s in samples] == [s["path"] for s in tree_samples]
    assert {s.spectrogram for s in samples} == {"step 3"}
    assert result.report.summary.steps[2].status == 0
    # the same arrays as the tree's files: the same images, so the same page
    assert (tmp_path / "r" / "report.html").read_bytes() == (built[0].html_path).read_bytes()


def test_the_same_inputs_give_the_same_bytes(pipeline, built, tmp_path):  # noqa: F811
    result, _ = built
    build_report(pipeline.pool, pipeline.index, pipeline.spectrograms, tmp_path)
    for name in ("report.html", "report.json", "figures/balance.png", "figures/splits.png"):
        assert (tmp_path / name).read_bytes() == (result.html_path.parent / name).read_bytes(), name


def test_a_bar_chart_shows_at_most_n_classes_the_shortest_first():
    classes = [ClassBalance(name=f"c{i:04d}", originals_found=5 + i, originals_kept=5 + i, augmented=495 - i,
                            total=500 - (i % 7 == 0) * 10, short_by=(i % 7 == 0) * 10)
               for i in range(1500)]
    shown = balance_classes(classes, 40)
    assert len(shown) == 40
    assert sum(c.short_by > 0 for c in shown) == 40  # 215 classes are short: the chart shows 40 of them
    assert [c.name for c in shown] == sorted(c.name for c in shown)


def test_levels_are_shown_when_the_pool_records_them():
    def entry(name: str, peak: float | None) -> FileEntry:
        return FileEntry(name=name, is_augmented=False, source=name, augmentation=None, seconds=3.0,
                         samplerate=16000, channels=1, sha256=None, peak_dbfs=peak,
                         rms_dbfs=None if peak is None else peak - 12.0, params=())

    pool = PoolInputs({"classes": {"owl": {}}}, "", {"owl": [entry("a", -1.0), entry("b", -20.0),
                                                             entry("c", None)]})
    record = data.inputs(pool, read_spectrogram_inputs(None), [])
    assert [(h.label, h.unit, sum(h.counts), h.edges[0], h.edges[-1]) for h in record.levels] == [
        ("peak level", "dBFS", 2, -20.0, -1.0), ("RMS level", "dBFS", 2, -32.0, -13.0)]
    assert record.padded_windows == 3 and record.padding.counts[6] == 3  # 3 s of 8: 62.5 % padding
    assert plots.inputs(record).startswith(b"\x89PNG")
    assert data.inputs(PoolInputs({"classes": {}}, "", {"owl": [entry("c", None)]}),
                       read_spectrogram_inputs(None), []).levels == []


def test_the_report_on_a_wal_mode_index_leaves_no_file_beside_it(pipeline, tmp_path):  # noqa: F811
    index = tmp_path / "wal" / "index.db"
    index.parent.mkdir()
    shutil.copy(pipeline.index, index)
    with sqlite3.connect(index) as con:
        assert con.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    con.close()
    before = sorted(p.name for p in index.parent.iterdir())
    assert before == ["index.db"]  # a clean close checkpoints and removes -wal and -shm
    result = build_report(pipeline.pool, index, pipeline.spectrograms, tmp_path / "out")
    assert sorted(p.name for p in index.parent.iterdir()) == before
    assert result.report.summary.samples == _sql(pipeline.index, "SELECT COUNT(*) FROM audio_samples")[0][0]


def test_no_module_but_index_db_opens_the_index_nor_parses_pool_entries():
    """One reader per on-disk format: the report's modules go through formats/index_db and the
    pool's FileRecord."""
    from pathlib import Path

    folder = Path(data.__file__).parent
    for module in sorted(folder.glob("*.py")):
        text = module.read_text(encoding="utf-8")
        assert "sqlite3.connect" not in text and "SELECT " not in text, module.name
        assert '"filename"' not in text or "FileRecord.from_dict" in text, module.name


def test_bat_excerpts_play_time_expanded_x10_and_say_so(tmp_path):
    import io

    import numpy as np
    import soundfile as sf

    import create_augmented_pool
    import create_balanced_index

    audio, pool, db, spec = tmp_path / "audio", tmp_path / "pool", tmp_path / "index.db", tmp_path / "spec"
    (audio / "bat").mkdir(parents=True)
    sr = 256000
    t = np.arange(sr) / sr
    for i in range(3):
        call = np.sin(2 * np.pi * (40000 + 1000 * i) * t) * (np.sin(2 * np.pi * 5 * t) > 0.9)
        sf.write(audio / "bat" / f"b{i}.wav", (0.5 * call).astype(np.float32), sr)
    assert create_augmented_pool.main(["--audio-root", str(audio), "--output-dir", str(pool),
                                       "--target-samples", "3", "--num-workers", "1", "-q"]) == 0
    assert create_balanced_index.main(["--pool-dir", str(pool), "--output-db", str(db), "-q"]) == 0
    assert pregenerate_spectrograms_simple.main(["--index-db", str(db), "--pool-root", str(pool),
                                                 "--output-dir", str(spec), "--animal-type", "bat",
                                                 "-q"]) == 0
    result = build_report(pool, db, spec, tmp_path / "out")
    samples = result.report.listen.samples()
    assert samples and all(s.time_expansion == 10 for s in samples)
    assert result.report.listen.excerpt_rate == 19200  # 192 kHz played 10 times slower
    page = result.html_path.read_text(encoding="utf-8")
    assert page.count("played x10 slower (time expansion)") == len(samples)
    import base64
    import re

    uri = re.search(r'<audio controls preload="auto" src="data:audio/wav;base64,([^"]+)"', page).group(1)
    heard, rate = sf.read(io.BytesIO(base64.b64decode(uri)))
    assert rate == 19200 and len(heard) == int(0.25 * 192000)  # 0.25 s of the call lasts 2.5 s
    spectrum = np.abs(np.fft.rfft(heard))
    assert 3800 < np.argmax(spectrum) * rate / len(heard) < 4300  # a 40-42 kHz call heard at 4 kHz
