"""BirdNET result CSVs over time, and NightScan's 5-column variant (literal tables)."""

from __future__ import annotations

from nightscan_common.annotations import birdnet_csv

NOW = ("Start (s),End (s),Scientific name,Common name,Confidence,File\n"
       "0.0,3.0,Strix aluco,Tawny Owl,0.8123,/data/site1/rec.wav\n"
       '3.0,6.0,"Bubo bubo","Eurasian Eagle-Owl, Grand-duc",0.5,"/data/site1/rec, copy.wav"\n')
NIGHTSCAN = ("Start (s),End (s),Scientific name,Common name,Confidence\n"
             "12.0,15.0,Asio flammeus,Short-eared Owl,0.91\n"
             "15.0,18.0,nocall,nocall,0.2\n")
R_TYPE = ("filepath,start,end,scientific_name,common_name,confidence,lat,lon,week,overlap,sensitivity,"
          "min_conf,species_list,model\n"
          "/data/rec.wav,9.0,12.0,Strix aluco,Tawny Owl,0.7,-1,-1,-1,0.0,1.0,0.1,,BirdNET_GLOBAL_6K_V2.4\n")


def test_todays_csv_with_file_and_quoted_commas():
    t = birdnet_csv.read("rec.BirdNET.results.csv", NOW)
    assert [(e.label, e.start, e.end, e.confidence, e.recording) for e in t.events] == [
        ("Strix aluco", 0.0, 3.0, 0.8123, "/data/site1/rec.wav"),
        ("Bubo bubo", 3.0, 6.0, 0.5, "/data/site1/rec, copy.wav")]
    assert t.detector and t.has_confidence


def test_nightscan_five_columns_have_no_recording_column():
    t = birdnet_csv.read("site1/rec.csv", NIGHTSCAN)
    assert ([(e.line, e.label, e.recording) for e in t.events] ==
            [(2, "Asio flammeus", None), (3, "nocall", None)])


def test_the_r_type_of_before_2_0():
    (e,) = birdnet_csv.read("r.csv", R_TYPE).events
    assert ((e.label, e.start, e.end, e.confidence, e.recording) ==
            ("Strix aluco", 9.0, 12.0, 0.7, "/data/rec.wav"))


def test_common_name_as_label_column():
    assert (birdnet_csv.read("x.csv", NOW, label="Common name").events[1].label ==
            "Eurasian Eagle-Owl, Grand-duc")
