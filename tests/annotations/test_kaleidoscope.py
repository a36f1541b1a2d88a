"""Kaleidoscope CSVs: Kaleidoscope Pro's id.csv and BirdNET's kaleidoscope output (literal tables)."""

from __future__ import annotations

from nightscan_common.annotations import kaleidoscope

PRO = ("INDIR,OUTDIR,FOLDER,IN FILE,CHANNEL,OFFSET,DURATION,OUT FILE FS,DATE,TIME,HOUR,AUTO ID*,PULSES,"
       "MATCH RATIO,MARGIN,ALTERNATE 1,ALTERNATE 2,MANUAL ID\n"
       "E:\\bats,E:\\out,site1\\night1,20240601_220000.wav,0,12.5,4.2,,2024-06-01,22:00:00,22,PIPPIP,12,0.9,"
       "0.5,PIPPYG,,PIPPYG\n"
       "E:\\bats,E:\\out,site1\\night1,20240601_220000.wav,0,30,2,,2024-06-01,22:00:00,22,NoID,0,,,,,\n"
       "E:\\bats,E:\\out,,20240601_230000.wav,0,1,1.5,,2024-06-01,23:00:00,23,NYCNOC,8,0.8,0.4,,,\n")
BIRDNET_V1 = ("INDIR,FOLDER,IN FILE,OFFSET,DURATION,scientific_name,common_name,confidence,lat,lon,week,"
              "overlap,sensitivity\n"
              "/data,site1,rec.wav,9.0,3.0,Strix aluco,Tawny Owl,0.77,-1,-1,-1,0.0,1.0\n")


def test_manual_id_before_auto_id_and_noid_as_no_call():
    t = kaleidoscope.read("id.csv", PRO)
    assert [(e.label, e.start, e.end, e.recording) for e in t.events] == [
        ("PIPPYG", 12.5, 16.7, "site1/night1/20240601_220000.wav"),
        ("nocall", 30.0, 32.0, "site1/night1/20240601_220000.wav"),
        ("NYCNOC", 1.0, 2.5, "20240601_230000.wav")]
    assert t.detector  # some labels are automatic


def test_birdnets_kaleidoscope_csv():
    (e,) = kaleidoscope.read("k.csv", BIRDNET_V1).events
    assert ((e.label, e.start, e.end, e.confidence, e.recording) ==
            ("Strix aluco", 9.0, 12.0, 0.77, "site1/rec.wav"))
