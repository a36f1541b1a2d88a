"""The plain CSV path,start,end,label[,confidence]."""

from __future__ import annotations

import pytest

from nightscan_common.annotations import plain_csv
from nightscan_common.annotations.records import TableError


def test_rows_with_and_without_confidence_and_quoted_paths():
    text = 'path,start,end,label,confidence\r\n"site 1/a, b.wav",1.5,2.5,owl,0.9\r\nc.wav,3,4,bat,\r\n'
    t = plain_csv.read("t.csv", text)
    assert [(e.recording, e.start, e.end, e.label, e.confidence) for e in t.events] == [
        ("site 1/a, b.wav", 1.5, 2.5, "owl", 0.9), ("c.wav", 3.0, 4.0, "bat", None)]
    assert t.has_confidence and not t.detector


def test_without_a_label_column():
    with pytest.raises(TableError, match="no label column 'label'"):
        plain_csv.read("t.csv", "path,start,end,species\na.wav,1,2,owl\n")
    table = plain_csv.read("t.csv", "path,start,end,species\na.wav,1,2,owl\n", label="species")
    assert table.events[0].label == "owl"
