"""The clip plan, without audio: centring, edges, tiling, merging, multi-label, caps, background."""

from __future__ import annotations

from nightscan_common.annotations.records import Event
from nightscan_common.plans.clips import ClipOptions, Labelled, RecordingEvents, plan_clips

SR = 1000


def _ev(line, start, end, cls="owl", label=None, **kw):
    return Labelled(Event(table="t.txt", line=line, label=label or cls or "x", start=start, end=end, **kw),
                    cls)


def _rec(*events, seconds=100, exhaustive=False, channels=1):
    return RecordingEvents(recording="site1/night.wav", frames=seconds * SR, samplerate=SR,
                           channels=channels, events=tuple(events), exhaustive=exhaustive)


def _offsets(plan, cls="owl"):
    return [(c.window.offset / SR, c.window.frames / SR) for c in plan.clips if c.cls == cls]


def test_centred_and_moved_inside_at_the_edges():
    plan = plan_clips([_rec(_ev(2, 10, 12), _ev(3, 0.5, 1), _ev(4, 99.5, 100))], ClipOptions(clip=4))
    assert _offsets(plan) == [(0, 4), (9, 4), (96, 4)]
    assert plan.fates == {("t.txt", 2): "used", ("t.txt", 3): "used", ("t.txt", 4): "used"}


def test_a_long_event_is_tiled_with_the_hop_and_covered_to_its_end():
    plan = plan_clips([_rec(_ev(2, 10, 21))], ClipOptions(clip=4, hop=3))
    assert _offsets(plan) == [(10, 4), (13, 4), (16, 4), (17, 4)]


def test_overlapping_or_touching_events_of_one_class_merge():
    plan = plan_clips([_rec(_ev(2, 10, 11), _ev(3, 11, 12), _ev(4, 11.5, 12.5))], ClipOptions(clip=4))
    assert _offsets(plan) == [(9.25, 4)]
    assert plan.fates == {("t.txt", 2): "used", ("t.txt", 3): "merged", ("t.txt", 4): "merged"}
    assert [e["line"] for e in plan.clips[0].events] == [2, 3, 4]


def test_multi_label_drop_and_keep():
    events = (_ev(2, 10, 11), _ev(3, 11.5, 12, cls="bat"), _ev(4, 50, 51))
    drop = plan_clips([_rec(*events)], ClipOptions(clip=4))
    assert _offsets(drop) == [(48.5, 4)] and _offsets(drop, "bat") == []
    assert drop.fates[("t.txt", 2)] == drop.fates[("t.txt", 3)] == "multi-label dropped"
    keep = plan_clips([_rec(*events)], ClipOptions(clip=4, multi_label="keep"))
    first = [c for c in keep.clips if c.cls == "owl"][0]
    assert [e["class"] for e in first.events] == ["owl", "bat"]


def test_point_events_named_or_centred():
    drop = plan_clips([_rec(_ev(2, 30, 30))], ClipOptions(clip=2))
    assert (drop.clips == () and drop.problems[0].where == "t.txt:2" and drop.fates[("t.txt", 2)] ==
            "point event")
    centre = plan_clips([_rec(_ev(2, 30, 30))], ClipOptions(clip=2, point_events="centre"))
    assert _offsets(centre) == [(29, 2)] and centre.clips[0].events[0]["line"] == 2


def test_out_of_range_clamped_within_a_frame_and_a_missing_channel():
    events = (_ev(2, 98, 100.0005), _ev(3, 99, 102), _ev(4, 120, 121), _ev(5, 5, 6, channel=2))
    plan = plan_clips([_rec(*events)], ClipOptions(clip=2))
    assert _offsets(plan) == [(98, 2)]
    assert {p.where: p.fate for p in plan.problems} == {"t.txt:3": "out of range", "t.txt:4": "out of range",
                                                        "t.txt:5": "bad row"}


def test_max_per_recording_is_seeded_and_spread_over_the_night():
    events = [_ev(i, i * 10 + 1, i * 10 + 2) for i in range(1, 9)]  # 8 events, 11 s to 82 s
    a = plan_clips([_rec(*events)], ClipOptions(clip=2, max_per_recording=2, seed=1))
    b = plan_clips([_rec(*events)], ClipOptions(clip=2, max_per_recording=2, seed=1))
    assert a == b and len(a.clips) == 2
    first, second = (c.window.offset / SR for c in a.clips)
    assert first < 45 < second  # one in each half of the night
    assert sorted(a.fates.values()).count("capped") == 6


def test_background_only_from_exhaustive_recordings_one_clip_away_from_any_event():
    events = (_ev(2, 20, 21), _ev(3, 50, 52, cls=None, label="human"))
    opts = ClipOptions(clip=4, background_class="background")
    assert _offsets(plan_clips([_rec(*events)], opts), "background") == []
    bg = _offsets(plan_clips([_rec(*events, exhaustive=True)], opts), "background")
    assert bg and all(o + 4 + 4 <= 20 or o >= 21 + 4 for o, _ in bg)
    assert all(o + 4 + 4 <= 50 or o >= 52 + 4 for o, _ in bg)  # the ignored label keeps it away too
    assert (12, 4) in bg and (16, 4) not in bg


def test_time_expansion_scales_clips_and_real_time_tables():
    # x10 expanded: a 0.025 s real clip is 0.25 s of the file; a real-time table at 1 s is 10 s of the file
    plan = plan_clips([_rec(_ev(2, 1, 1.01))], ClipOptions(clip=0.025, time_expansion=10, table_scale=10))
    assert _offsets(plan) == [(9.925, 0.25)]


def test_high_freq_above_nyquist_is_a_warning_naming_the_rows():
    events = (_ev(2, 1, 2, high_freq=600.0), _ev(3, 5, 6, high_freq=400.0))
    plan = plan_clips([_rec(*events)], ClipOptions(clip=2))
    assert len(plan.warnings) == 1 and "t.txt:2" in plan.warnings[0] and "t.txt:3" not in plan.warnings[0]
