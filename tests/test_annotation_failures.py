"""Step 1 --annotations on bad input: each a clear line naming the table (and line), the rest goes on."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf

import create_augmented_pool

SR = 8000
RAVEN = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\n"


@pytest.fixture
def field(tmp_path):
    """A 30 s recording ``rec.wav`` (mono) and an empty folder of tables."""
    (tmp_path / "audio").mkdir()
    x = 0.2 * np.random.default_rng(0).standard_normal(30 * SR)
    sf.write(tmp_path / "audio" / "rec.wav", x.astype(np.float32), SR, subtype="PCM_16")
    (tmp_path / "tables").mkdir()
    return tmp_path


def _run(root, *args, dry=True):
    return create_augmented_pool.main(["--audio-root", str(root / "audio"),
                                       "--annotations", str(root / "tables"),
                                       "--output-dir", str(root / "pool"), "--num-workers", "1", "-q",
                                       "--clip", "2", "--target-samples", "1", "--augmentations", "volume",
                                       *(["--dry-run"] if dry else []), *map(str, args)])


def _table(root, text, name="rec.txt", encoding="utf-8"):
    (root / "tables" / name).write_bytes(text.encode(encoding))


def test_a_missing_table_path_is_a_usage_error(field, capsys):
    assert create_augmented_pool.main(["--audio-root", str(field / "audio"), "--annotations",
                                       str(field / "nope"), "--output-dir", str(field / "pool"), "-q"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == f"error: --annotations {field / 'nope'} not found"


def test_an_unreadable_table_is_named_and_the_others_go_on(field, capsys):
    _table(field, "RIFF\x00\x00WAVEfmt ", name="junk.txt")
    _table(field, RAVEN + "1\tSpectrogram 1\t1\t5\t6\t100\t900\towl\n")
    assert _run(field) == 1
    out = capsys.readouterr().out
    assert "skipped: junk.txt: unreadable table: holds NUL bytes: not a text table" in out
    assert re.search("^owl +1 +1", out, re.M)


@pytest.mark.parametrize(("header", "words"), [
    (RAVEN.replace("Species", "Notes"), "has no label column (Species, Annotation, Label, Class, Tags); "
                                        "give --label-column NAME"),
    (RAVEN.replace("Species", "Species\tAnnotation"), "has several label columns (Species, Annotation)")])
def test_no_or_an_ambiguous_label_column(field, capsys, header, words):
    _table(field, header + "1\tSpectrogram 1\t1\t5\t6\t100\t900\towl\towl\n")
    assert _run(field) in (1, 2)
    assert f"skipped: rec.txt: unreadable table: {words}" in capsys.readouterr().out


def test_a_point_event_is_named_or_centred(field, capsys):
    _table(field, RAVEN + "1\tSpectrogram 1\t1\t5\t5\t100\t900\towl\n")
    assert _run(field) == 1
    assert "skipped: rec.txt:2: a point event at 5 s (begin = end)" in capsys.readouterr().out
    assert _run(field, "--point-events", "centre", dry=False) == 0
    meta = json.loads((field / "pool" / "pool_metadata.json").read_text(encoding="utf-8"))
    (clip,) = meta["classes"]["owl"]["files"]
    assert clip["offset_seconds"] == 4.0 and clip["events"][0]["line"] == 2


@pytest.mark.parametrize(("begin", "end", "words"), [
    ("-1", "2", "negative time (-1 to 2 s)"), ("nan", "2", "begin time is 'nan', not a finite number"),
    ("6", "5", "ends before it begins (6 to 5 s)")])
def test_negative_nan_and_reversed_times(field, capsys, begin, end, words):
    _table(field, RAVEN + f"1\tSpectrogram 1\t1\t{begin}\t{end}\t100\t900\towl\n"
                          "2\tSpectrogram 1\t1\t10\t11\t100\t900\towl\n")
    assert _run(field) == 1
    out = capsys.readouterr().out
    assert f"skipped: rec.txt:2: {words}" in out and re.search("^owl +1 +1", out, re.M)


def test_an_end_past_the_recording_is_clamped_within_a_frame_and_refused_beyond(field, capsys):
    _table(field, RAVEN + "1\tSpectrogram 1\t1\t29\t30.0001\t100\t900\towl\n"
                          "2\tSpectrogram 1\t1\t29.5\t31\t100\t900\towl\n")
    assert _run(field) == 1
    out = capsys.readouterr().out
    assert "skipped: rec.txt:3: 29.5 to 31 s lies past the end of rec.wav (30 s)" in out
    assert "rec.txt:2" not in out


def test_a_selection_across_two_files(field, capsys):
    _table(field, "Selection\tView\tChannel\tBegin File\tEnd File\tFile Offset (s)\tBegin Time (s)\t"
                  "End Time (s)\tAnnotation\n1\tSpectrogram 1\t1\trec.wav\trec2.wav\t29\t29\t32\towl\n",
           name="night.txt")
    assert _run(field) == 1
    assert ("skipped: night.txt:2: the selection begins in rec.wav and ends in rec2.wav; split it at the "
            "file boundary") in capsys.readouterr().out


def test_a_channel_the_recording_lacks(field, capsys):
    _table(field, RAVEN + "1\tSpectrogram 1\t2\t5\t6\t100\t900\towl\n")
    assert _run(field) == 1
    assert "skipped: rec.txt:2: channel 2, but rec.wav has 1" in capsys.readouterr().out


def test_cp1252_bom_crlf_and_quoted_commas_are_read(field, capsys):
    row = "1\tSpectrogram 1\t1\t5\t6\t100\t900\tChouette \u2013 m\u00e2le\n"
    _table(field, (RAVEN + row).replace("\n", "\r\n"), encoding="cp1252")
    _table(field, "\ufeffpath,start,end,label\r\n\"rec.wav\",10,11,\"owl, juvenile\"\r\n", name="more.csv")
    assert _run(field) == 0
    out = capsys.readouterr().out
    assert re.search("^Chouette \u2013 m\u00e2le +1 +1", out, re.M)
    assert re.search("^owl, juvenile +1 +1", out, re.M)


def test_labels_the_map_lacks_stop_the_run_before_anything_is_written(field, capsys):
    _table(field, RAVEN + "1\tSpectrogram 1\t1\t5\t6\t100\t900\tStrix\n"
                          "2\tSpectrogram 1\t1\t8\t9\t1\t9\tPica\n"
                          "3\tSpectrogram 1\t1\t12\t13\t1\t9\tPica\n")
    (field / "map.csv").write_text("Strix,owl\n")
    assert _run(field, "--label-map", field / "map.csv", dry=False) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: 1 label(s) not in --label-map {field / 'map.csv'}: 'Pica' (2); add them "
        "(class 'ignore' drops one) or pass --unknown-labels ignore")
    assert not (field / "pool").exists()
    assert _run(field, "--label-map", field / "map.csv", "--unknown-labels", "ignore") == 0


def test_two_recordings_for_one_table_are_both_named(field, capsys):
    (field / "audio" / "b").mkdir()
    (field / "audio" / "a").mkdir()
    (field / "audio" / "rec.wav").rename(field / "audio" / "a" / "rec.wav")
    sf.write(field / "audio" / "b" / "rec.wav", np.full(SR, 0.1, np.float32), SR)
    _table(field, RAVEN + "1\tSpectrogram 1\t1\t5\t6\t100\t900\towl\n")
    assert _run(field) == 1
    assert ("skipped: rec.txt: its recording is missing: two recordings could be rec: a/rec.wav and b/rec.wav"
            in capsys.readouterr().out)


@pytest.mark.parametrize(("args", "words"), [
    (("--background-class", "bg"), "--background-class needs recordings declared complete"),
    (("--exhaustive", "*"), "--exhaustive and --tables-are-exhaustive say where --background-class"),
    (("--segment", "4"), "--segment cuts whole recordings into windows"),
    (("--time-expansion", "0.5"), "--time-expansion must be 1 or more")])
def test_options_that_cannot_work(field, capsys, args, words):
    _table(field, RAVEN)
    assert _run(field, *args) == 2
    assert words in capsys.readouterr().err


def test_a_copy_of_a_recording_under_another_name_is_left_out_once(field, capsys):
    (field / "audio" / "copy.wav").write_bytes((field / "audio" / "rec.wav").read_bytes())
    _table(field, RAVEN + "1\tSpectrogram 1\t1\t5\t6\t100\t900\towl\n")
    _table(field, RAVEN + "1\tSpectrogram 1\t1\t5\t6\t100\t900\towl\n", name="copy.txt")
    assert _run(field) == 0
    out = capsys.readouterr().out
    assert "duplicate: rec.wav is the same recording as copy.wav; left out" in out
    assert re.search("^owl +1 +1", out, re.M)
