"""place_shared: groups of several classes placed for all their classes at once."""

from __future__ import annotations

from nightscan_common.plans.shared_split import place_shared

ALL = [0, 1, 2]


def test_a_group_of_two_classes_goes_where_both_need_it_most():
    targets = {"a": [8, 1, 1], "b": [8, 1, 1]}
    counts = {"a": [8, 0, 1], "b": [8, 0, 1]}  # both short of val only
    groups = [{"a": 1, "b": 1}]
    assert place_shared(groups, targets, {"a": 1, "b": 1}, ALL, seed=0, counts=counts) == [1]


def test_groups_of_one_class_follow_the_largest_deficit_and_fill_the_targets_exactly():
    sizes = [1] * 10
    counts: dict[str, list[int]] = {}
    place_shared([{"a": n} for n in sizes], {"a": [8, 1, 1]}, {"a": 1}, ALL, seed=3, counts=counts)
    assert counts["a"] == [8, 1, 1]


def test_fixed_groups_stay_even_over_their_target_and_the_others_fill_the_neediest_splits():
    targets = {"a": [4, 1, 1], "b": [4, 1, 1]}
    counts: dict[str, list[int]] = {}
    groups = [{"a": 1, "b": 1}] * 6
    out = place_shared(groups, targets, {"a": 1, "b": 1}, ALL, seed=1, fixed={0: 2, 1: 2}, counts=counts)
    assert out == [2, 2, 0, 0, 0, 0] and counts == {"a": [4, 0, 2], "b": [4, 0, 2]}


def test_a_split_with_ratio_zero_gets_nothing_and_a_seed_gives_one_answer():
    groups = [{"a": 1, "b": 2}, {"a": 2, "b": 1}, {"a": 1, "b": 1}]
    targets = {"a": [3, 1, 0], "b": [3, 1, 0]}
    runs = {tuple(place_shared(groups, targets, {"a": 2, "b": 2}, [0, 1], seed=9)) for _ in range(5)}
    assert len(runs) == 1 and 2 not in next(iter(runs))
