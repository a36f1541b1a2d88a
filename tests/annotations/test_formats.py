"""Formats told apart by their header; encodings (BOM, cp1252, UTF-16), line ends, empty tables."""

from __future__ import annotations

import pytest

from nightscan_common.annotations.formats import detect, read_table
from nightscan_common.annotations.records import TableError

RAVEN = "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\tSpecies\n"


@pytest.mark.parametrize(("first", "fmt"), [
    (RAVEN, "raven"), ("Start (s),End (s),Scientific name,Common name,Confidence\n", "birdnet-csv"),
    ("1.0\t2.0\towl\n", "audacity"), ("INDIR,FOLDER,IN FILE,OFFSET,DURATION,AUTO ID\n", "kaleidoscope"),
    ("path,start,end,label\n", "csv"), ("", "audacity")])
def test_detected_from_the_header(first, fmt):
    assert detect(first) == fmt


def test_an_unknown_header_is_named():
    with pytest.raises(TableError, match="unknown header .*'time,what'"):
        detect("time,what\n1,owl\n")


def test_cp1252_bom_utf16_and_crlf(tmp_path):
    row = "1\tSpectrogram 1\t1\t1.0\t2.0\t100\t200\tChouette hulotte \u2013 m\u00e2le\r\n"
    (tmp_path / "cp.txt").write_bytes((RAVEN + row).encode("cp1252"))
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + (RAVEN + row).encode("utf-8"))
    (tmp_path / "u16.txt").write_bytes((RAVEN + row).encode("utf-16"))
    for name, encoding in (("cp.txt", "cp1252"), ("bom.txt", "utf-8-sig"), ("u16.txt", "utf-16")):
        t = read_table(tmp_path / name, name)
        assert t.encoding == encoding and t.events[0].label == "Chouette hulotte \u2013 m\u00e2le"


def test_header_only_and_empty_files_have_no_events(tmp_path):
    (tmp_path / "h.txt").write_text(RAVEN)
    (tmp_path / "e.txt").write_text("")
    assert read_table(tmp_path / "h.txt", "h.txt").events == ()
    assert read_table(tmp_path / "e.txt", "e.txt").events == ()


def test_a_forced_format_that_does_not_fit(tmp_path):
    (tmp_path / "t.csv").write_text("path,start,end,label\na.wav,1,2,owl\n")
    with pytest.raises(TableError, match="cannot be read as birdnet-csv"):
        read_table(tmp_path / "t.csv", "t.csv", fmt="birdnet-csv")


def test_a_binary_file_is_not_a_table(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"RIFF\x00\x00\x00WAVE")
    with pytest.raises(TableError, match="NUL bytes"):
        read_table(tmp_path / "x.txt", "x.txt")
