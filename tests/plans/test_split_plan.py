"""split_plan: targets, the whole-group assignment and its bounds, ratio checks."""

from __future__ import annotations

import random

import pytest

from nightscan_common.errors import UsageError
from nightscan_common.plans.split_plan import (
    DEFAULT_RATIOS,
    check_ratios,
    plan_split,
    split_targets,
)

RATIO_CHOICES = [(0.8, 0.1, 0.1), (0.7, 0.15, 0.15), (0.6, 0.2, 0.2), (1 / 3, 1 / 3, 1 / 3),
                 (0.9, 0.1, 0.0), (0.5, 0.0, 0.5), (1.0, 0.0, 0.0), (0.05, 0.05, 0.9)]


def split_sizes(sizes: list[int], assignment: tuple[int, ...]) -> list[int]:
    counts = [0, 0, 0]
    for size, split in zip(sizes, assignment, strict=True):
        counts[split] += size
    return counts


def test_targets_use_the_largest_remainder():
    assert split_targets(500, DEFAULT_RATIOS) == (400, 50, 50)
    assert split_targets(10, (0.7, 0.2, 0.1)) == (7, 2, 1)
    assert split_targets(30, (0.1, 0.1, 0.8)) == (3, 3, 24)
    assert split_targets(7, (1 / 3, 1 / 3, 1 / 3)) == (3, 2, 2)
    assert split_targets(5, DEFAULT_RATIOS) == (4, 1, 0)
    assert split_targets(0, DEFAULT_RATIOS) == (0, 0, 0)


def test_groups_of_one_file_give_the_targets_exactly():
    plan = plan_split([1] * 500, DEFAULT_RATIOS, seed=42)
    assert plan.counts == plan.targets == (400, 50, 50)
    assert plan.max_deviation == 0
    for n in range(10, 120):
        plan = plan_split([1] * n, DEFAULT_RATIOS, seed=n)
        assert plan.counts == plan.targets


def test_forty_groups_of_12_or_13_stay_within_one_group():
    sizes = [12, 13] * 20
    random.Random(0).shuffle(sizes)
    for seed in range(20):
        plan = plan_split(sizes, DEFAULT_RATIOS, seed=seed)
        assert len(plan.assignment) == 40
        assert sum(plan.counts) == 500
        assert all(abs(c - t) < 13 for c, t in zip(plan.counts, (400, 50, 50), strict=True))
        assert set(plan.assignment) == {0, 1, 2}
        assert split_sizes(sizes, plan.assignment) == list(plan.counts)


def test_three_groups_give_one_group_per_split():
    for sizes in ([5, 5, 5], [100, 1, 1], [1, 1, 100], [7, 3, 9]):
        plan = plan_split(sizes, DEFAULT_RATIOS, seed=1)
        assert sorted(plan.assignment) == [0, 1, 2]
        assert plan.empty == ()


def test_two_groups_go_where_the_ratios_are_largest():
    plan = plan_split([5, 5], DEFAULT_RATIOS, seed=1)
    assert sorted(plan.assignment) == [0, 1]
    assert plan.empty == ("test",)
    plan = plan_split([5, 5], (0.1, 0.1, 0.8), seed=1)
    assert sorted(plan.assignment) == [0, 2]
    assert plan_split([9], DEFAULT_RATIOS, seed=1).assignment == (0,)


def test_a_zero_ratio_split_gets_nothing():
    plan = plan_split([3, 1, 2, 5, 1], (0.9, 0.1, 0.0), seed=3)
    assert 2 not in plan.assignment
    assert plan.empty == ()


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    sizes = [12, 13] * 20
    assert plan_split(sizes, seed=7) == plan_split(sizes, seed=7)
    assert plan_split(sizes, seed=7).assignment != plan_split(sizes, seed=8).assignment
    ones = [1] * 100
    assert plan_split(ones, seed=7).assignment != plan_split(ones, seed=8).assignment


def test_random_group_sizes_keep_every_promise():
    for trial in range(400):
        rng = random.Random(trial)
        largest = rng.choice([1, 2, 5, 13, 40])
        sizes = [rng.randint(1, largest) for _ in range(rng.randint(1, 80))]
        ratios = rng.choice(RATIO_CHOICES)
        plan = plan_split(sizes, ratios, seed=trial)
        positive = [s for s, r in enumerate(ratios) if r > 0]
        assert len(plan.assignment) == len(sizes)
        assert split_sizes(sizes, plan.assignment) == list(plan.counts)
        assert sum(plan.targets) == sum(sizes)
        assert set(plan.assignment) <= set(positive)
        assert len(set(plan.assignment)) == min(len(sizes), len(positive))
        assert len(plan.empty) == len(positive) - len(set(plan.assignment))
        if min(plan.targets[s] for s in positive) >= max(sizes):
            assert plan.max_deviation < max(sizes), (trial, sizes, ratios, plan)
        if largest == 1 and len(plan.empty) == 0 and min(plan.targets[s] for s in positive) >= 1:
            assert plan.counts == plan.targets


@pytest.mark.parametrize("ratios, quoted", [
    ((0.8, 0.1, 0.2), "1.1"),
    ((0.8, 0.3, -0.1), "-0.1"),
    ((0.8, float("nan"), 0.2), "nan"),
    ((0.8, 0.2), "[0.8, 0.2]"),
])
def test_bad_ratios_are_refused_with_the_bad_value(ratios, quoted):
    with pytest.raises(UsageError, match=quoted.replace(".", r"\.").replace("[", r"\[")):
        check_ratios(ratios)


def test_ratios_within_the_tolerance_are_accepted_and_scaled():
    assert sum(check_ratios((0.7, 0.2, 0.1))) == pytest.approx(1.0, abs=1e-15)
    assert check_ratios((0.8, 0.1, 0.1 + 5e-7))[0] == pytest.approx(0.8, abs=1e-6)


def test_bad_sizes_and_seeds_are_refused():
    with pytest.raises(UsageError, match="got 0 at 1"):
        plan_split([3, 0], seed=1)
    with pytest.raises(UsageError, match="'x'"):
        plan_split([3], seed="x")
