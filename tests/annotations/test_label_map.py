"""Labels to classes (annotations.labels): the map, ignore, blank, nocall, unknown labels."""

from __future__ import annotations

from collections import Counter

import pytest

from nightscan_common.annotations.labels import classify, read_label_map, refuse_unknown
from nightscan_common.errors import UsageError


def test_map_with_header_and_ignore(tmp_path):
    (tmp_path / "m.csv").write_text("label,class\r\nStrix aluco,owl\r\n"
                                    "\"Bubo bubo, juv\",owl\r\nHuman,ignore\r\n")
    m = read_label_map(tmp_path / "m.csv")
    assert m == {"Strix aluco": "owl", "Bubo bubo, juv": "owl", "Human": "ignore"}
    assert classify("Strix aluco", m) == ("owl", "used")
    assert classify("Human", m) == (None, "ignored")
    assert classify("Pica pica", m) == (None, "unknown")
    assert classify(" ", m) == (None, "blank") and classify("NoCall", m) == (None, "nocall")
    assert classify("anything", None) == ("anything", "used")


def test_a_bad_map_names_its_line(tmp_path):
    (tmp_path / "m.csv").write_text("a,owl\nb\n")
    with pytest.raises(UsageError, match="m.csv:2: expected label,class"):
        read_label_map(tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("a,owl/x\n")
    with pytest.raises(UsageError, match="'owl/x' cannot be a class"):
        read_label_map(tmp_path / "m.csv")


def test_unknown_labels_listed_with_counts(tmp_path):
    listed = "2 label\\(s\\) not in --label-map .*'Pica pica' \\(3\\), 'X' \\(1\\)"
    with pytest.raises(UsageError, match=listed):
        refuse_unknown(Counter({"Pica pica": 3, "X": 1}), tmp_path / "m.csv")
