"""Tables paired with recordings: path column, relative path without the table suffix, unique stem."""

from __future__ import annotations

from nightscan_common.annotations.pairing import Recordings, find_tables, table_base

RECS = Recordings(["site1/night1.wav", "site2/night1.wav", "site1/rec.flac", "other/solo.wav",
                   "results_like/a/20240601.wav"])


def test_table_suffixes_removed():
    assert table_base("site1/night1.Table.1.selections.txt") == "site1/night1"
    assert table_base("site1/rec.BirdNET.selection.table.txt") == "site1/rec"
    assert table_base("a/x.BirdNET.results.csv") == "a/x"
    assert table_base("x.selections.txt") == "x" and table_base("x.csv") == "x"


def test_the_relative_path_wins_over_an_ambiguous_stem():
    assert RECS.for_table("site2/night1.Table.1.selections.txt") == ("site2/night1.wav", None)


def test_a_unique_stem_pairs_and_two_candidates_are_named():
    assert RECS.for_table("elsewhere/solo.txt") == ("other/solo.wav", None)
    rec, why = RECS.for_table("night1.txt")
    assert rec is None and "site1/night1.wav and site2/night1.wav" in why
    assert RECS.for_table("gone.csv") == (None, "no recording for gone under --audio-root")


def test_nightscans_results_layout_pairs_by_folder_and_stem():
    assert RECS.for_table("a/20240601.csv") == ("results_like/a/20240601.wav", None)


def test_a_path_column_from_another_machine_pairs_by_its_tail():
    assert RECS.for_path("C:\\Users\\me\\site1\\rec.flac") == ("site1/rec.flac", None)
    assert RECS.for_path("/mnt/card/solo.wav") == ("other/solo.wav", None)
    assert RECS.for_path("/mnt/night1.wav")[0] is None


def test_folders_searched_recursively_hidden_left_out(tmp_path):
    (tmp_path / "t" / "a").mkdir(parents=True)
    (tmp_path / "t" / ".hidden").mkdir()
    for name in ("a/x.txt", "y.CSV", "z.wav", ".hidden/w.txt"):
        (tmp_path / "t" / name).write_text("")
    found, missing = find_tables((tmp_path / "t", tmp_path / "nope"))
    assert [t.name for t in found] == ["a/x.txt", "y.CSV"] and missing == [str(tmp_path / "nope")]
