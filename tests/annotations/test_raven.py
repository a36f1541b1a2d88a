"""Raven selection tables, as Raven Pro and BirdNET write them (literal tables)."""

from __future__ import annotations

import pytest

from nightscan_common.annotations import raven
from nightscan_common.annotations.records import TableError

HAND_MADE = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\r\n"
    "1\tWaveform 1\t1\t6.709509878\t15.096397225\t1739.012\t3798.813\tSTRALU\r\n"
    "1\tSpectrogram 1\t1\t6.709509878\t15.096397225\t1739.012\t3798.813\tSTRALU\r\n"
    "2\tSpectrogram 1\t2\t29.3830\t29.3830\t41000.0\t52000.0\tPIPPIP\r\n")

MULTI_FILE = (
    "Selection\tView\tChannel\tBegin File\tFile Offset (s)\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
    "High Freq (Hz)\tAnnotation\n"
    "7\tSpectrogram 1\t1\t20240512_010000.wav\t12.5\t3612.5\t3613.1\t300.0\t1200.0\towl\n")

#: BirdNET-Analyzer's per-file table today (after #867): integer frequencies, Begin Path last.
BIRDNET_NOW = (
    "Selection\tBegin Time (s)\tEnd Time (s)\tCommon Name\tScientific Name\tSpecies Code\tConfidence\tView\t"
    "Channel\tFile Offset (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tBegin Path\n"
    "1\t0\t3.0\tTawny Owl\tStrix aluco\ttawowl1\t0.8123\tSpectrogram 1\t1\t0\t0\t15000\t"
    "/data/night1/rec.wav\n"
    "2\t6.0\t9.0\tLittle Owl\tAthene noctua\tlitowl1\t0.4001\tSpectrogram 1\t1\t6.0\t0\t15000\t"
    "/data/night1/rec.wav\n")

#: Its order before #867: no Scientific Name, Begin Path before File Offset.
BIRDNET_BEFORE = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tCommon Name\t"
    "Species Code\tConfidence\tBegin Path\tFile Offset (s)\n"
    "1\tSpectrogram 1\t1\t12.0\t15.0\t150\t12000\tTawny Owl\ttawowl1\t0.9010\tC:\\rec\\rec.wav\t12.0\n")


def test_view_duplicates_are_one_event_and_a_point_selection_is_kept_to_be_named():
    t = raven.read("rec.Table.1.selections.txt", HAND_MADE)
    assert [(e.line, e.label, e.channel) for e in t.events] == [(3, "STRALU", 1), (4, "PIPPIP", 2)]
    assert t.counts == {"view duplicate": 1} and t.rows == 3
    owl, bat = t.events
    assert ((owl.start, owl.end, owl.low_freq, owl.high_freq) ==
            (6.709509878, 15.096397225, 1739.012, 3798.813))
    assert bat.start == bat.end == 29.383 and not t.detector and not t.has_confidence


def test_a_multi_file_table_places_the_event_in_its_own_file():
    (e,) = raven.read("night.txt", MULTI_FILE).events
    assert (e.recording, e.start, round(e.end, 6), e.label) == ("20240512_010000.wav", 12.5, 13.1, "owl")


def test_a_selection_across_two_files_is_a_bad_row_named_by_line():
    text = MULTI_FILE.replace("Begin File\t", "Begin File\tEnd File\t").replace(
        "20240512_010000.wav\t", "20240512_010000.wav\t20240512_020000.wav\t")
    t = raven.read("night.txt", text)
    assert t.events == () and t.problems[0].where == "night.txt:2"
    assert "20240512_020000.wav" in t.problems[0].reason


def test_birdnet_tables_of_today_and_before_read_with_integer_frequencies():
    now = raven.read("rec.BirdNET.selection.table.txt", BIRDNET_NOW)
    assert [(e.label, e.confidence, e.high_freq, e.recording) for e in now.events] == [
        ("Strix aluco", 0.8123, 15000.0, "/data/night1/rec.wav"),
        ("Athene noctua", 0.4001, 15000.0, "/data/night1/rec.wav")]
    assert now.detector and now.has_confidence and now.events[1].start == 6.0
    (before,) = raven.read("rec.BirdNET.selection.table.txt", BIRDNET_BEFORE).events
    assert ((before.label, before.start, before.end, before.recording) ==
            ("Tawny Owl", 12.0, 15.0, "C:\\rec\\rec.wav"))


def test_label_column_none_several_or_chosen():
    none = HAND_MADE.replace("\tSpecies", "\tNotes")
    with pytest.raises(TableError, match="no label column .*--label-column"):
        raven.read("t.txt", none)
    several = HAND_MADE.replace("\tSpecies\r\n", "\tSpecies\tTags\r\n", 1)
    with pytest.raises(TableError, match="several label columns \\(Species, Tags\\)"):
        raven.read("t.txt", several)
    assert raven.read("t.txt", none, label="Notes").events[0].label == "STRALU"
    with pytest.raises(TableError, match="no column 'Call Type'"):
        raven.read("t.txt", HAND_MADE, label="Call Type")


def test_a_header_only_table_has_no_events():
    t = raven.read("t.txt", HAND_MADE.split("\r\n")[0] + "\r\n")
    assert t.events == () and t.rows == 0


@pytest.mark.parametrize(("begin", "end", "words"), [
    ("nan", "2", "not a finite number"), ("-1", "2", "negative time"), ("5", "4", "ends before")])
def test_bad_times_are_bad_rows_named_by_line(begin, end, words):
    text = HAND_MADE.replace("29.3830\t29.3830", f"{begin}\t{end}")
    t = raven.read("t.txt", text)
    assert [p.where for p in t.problems] == ["t.txt:4"] and words in t.problems[0].reason
