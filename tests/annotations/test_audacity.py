"""Audacity label tracks: frequency lines, point labels, labels without text, BirdNET's 4th column."""

from __future__ import annotations

from nightscan_common.annotations import audacity

MIXED = ("1.000000\t2.000000\towl\n"
         "\\\t300.000000\t1200.000000\n"
         "3.400000\t3.400000\tbat\n"
         "4.000000\t5.000000\n"
         "6.000000\t7.000000\tcricket\n"
         "\\\t-1.000000\t9000.000000\n")


def test_mixed_lines():
    t = audacity.read("rec.txt", MIXED)
    assert [(e.line, e.label, e.start, e.end, e.low_freq, e.high_freq) for e in t.events] == [
        (1, "owl", 1.0, 2.0, 300.0, 1200.0), (3, "bat", 3.4, 3.4, None, None), (4, "", 4.0, 5.0, None, None),
        (5, "cricket", 6.0, 7.0, None, 9000.0)]
    assert t.rows == 4 and not t.has_confidence and not t.detector


def test_birdnets_variant_has_a_confidence_and_is_detector_output():
    t = audacity.read("rec.txt", "0.0\t3.0\tStrix aluco_Tawny Owl\t0.8123\n")
    assert t.events[0].confidence == 0.8123 and t.has_confidence and t.detector


def test_a_frequency_line_first_is_a_bad_row():
    t = audacity.read("rec.txt", "\\\t300\t1200\n1\t2\towl\n")
    assert [p.where for p in t.problems] == ["rec.txt:1"] and len(t.events) == 1
