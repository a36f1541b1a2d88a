"""Duplicate groups turned into a plan: one kept per class, the cross-class ones named."""

from nightscan_common.plans.content_groups import class_of, plan_duplicates

GROUPS = [["bat/x.mp3", "owl/a.flac", "owl/a.wav", "owl/sub/a.ogg"], ["insect/c.wav", "insect/d.wav"]]


def test_within_a_class_the_first_name_is_kept_and_the_others_are_its_duplicates():
    plan = plan_duplicates(GROUPS)
    assert plan.duplicate_of == {"owl/a.wav": "owl/a.flac", "owl/sub/a.ogg": "owl/a.flac",
                                 "insect/d.wav": "insect/c.wav"}
    assert plan.group_of["bat/x.mp3"] == "bat/x.mp3" and plan.group_of["owl/sub/a.ogg"] == "owl/a.flac"


def test_a_group_across_classes_is_reported_with_every_name():
    assert plan_duplicates(GROUPS).cross_class == [GROUPS[0]]
    assert class_of("owl/sub/a.ogg") == "owl"


def test_keep_duplicates_keeps_every_copy_in_one_group():
    plan = plan_duplicates(GROUPS, keep_duplicates=True)
    assert plan.duplicate_of == {}
    assert {plan.group_of[n] for n in ("owl/a.flac", "owl/a.wav", "owl/sub/a.ogg")} == {"owl/a.flac"}
    assert plan_duplicates(list(reversed(GROUPS)), keep_duplicates=True) == plan
