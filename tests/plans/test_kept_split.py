"""Stable splits across index versions: the pure assignment of plans/kept_split.py."""

from __future__ import annotations

from nightscan_common.plans.kept_split import TRAIN, merged_split, plan_kept_split
from nightscan_common.plans.split_plan import plan_split

RATIOS = (0.8, 0.1, 0.1)
VAL, TEST = 1, 2


def test_old_groups_keep_their_split_and_new_ones_fill_toward_the_ratios():
    sizes = [5] * 40
    old = plan_split(sizes, RATIOS, seed=1).assignment
    grown = sizes + [5] * 8  # 20 % more groups
    kept = plan_kept_split(grown, [{s: 5} for s in old] + [{}] * 8, RATIOS, seed=1)
    assert kept.plan.assignment[:40] == old and not kept.merges
    assert kept.kept == tuple(range(40)) and kept.added == tuple(range(40, 48))
    assert all(abs(c - t) < 5 for c, t in zip(kept.plan.counts, kept.plan.targets, strict=True))


def test_removed_groups_leave_the_others_where_they_were():
    old = plan_split([3] * 30, RATIOS, seed=2).assignment
    rest = old[5:]
    kept = plan_kept_split([3] * 25, [{s: 3} for s in rest], RATIOS, seed=2)
    assert kept.plan.assignment == rest and kept.added == ()


def test_a_merged_group_goes_where_val_and_test_get_nothing_from_train():
    assert merged_split({VAL: 3, TRAIN: 1}) == TRAIN
    assert merged_split({VAL: 2, TEST: 2}) == TEST and merged_split({VAL: 3, TEST: 1}) == VAL
    kept = plan_kept_split([4, 2, 2], [{TEST: 2, TRAIN: 2}, {VAL: 2}, {}], RATIOS, seed=0)
    (merge,) = kept.merges
    assert merge.group == 0 and merge.split == TRAIN and merge.moved == 2
    assert kept.plan.assignment[:2] == (TRAIN, VAL)


def test_a_key_without_files_still_counts_as_its_old_split():
    kept = plan_kept_split([3], [{VAL: 0}], RATIOS, seed=0)
    assert kept.plan.assignment == (VAL,) and kept.kept == (0,)


def test_new_groups_are_placed_as_a_fresh_build_places_them():
    sizes = [20, 20, 7, 5, 5, 3]
    for seed in range(5):
        fresh = plan_split(sizes, RATIOS, seed=seed)
        kept = plan_kept_split(sizes, [{}] * len(sizes), RATIOS, seed=seed)
        assert kept.plan == fresh and kept.added == tuple(range(len(sizes)))
    two = plan_kept_split([20, 20], [{TRAIN: 20}, {}], RATIOS, seed=0)  # one old in train, one new
    assert two.plan.assignment == (TRAIN, VAL) and two.plan.empty == ("test",)
