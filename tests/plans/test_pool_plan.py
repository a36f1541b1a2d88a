"""The pool plan: counts per class, shares of augmentations, selection, stems."""

import random

import pytest

from nightscan_common.plans.pool_plan import (
    plan_class,
    select_spread,
    share_augmentations,
    unique_stems,
)

AUGS = ("time_stretch", "noise", "volume", "combined")


def plan(n: int, target: int = 500, cap: int = 20, **kw):
    sources = [f"rec_{i:04d}.wav" for i in range(n)]
    return plan_class("owl", sources, target=target, max_augmentations=cap, augmentations=AUGS,
                      seed=42, **kw)


@pytest.mark.parametrize(("n", "total", "lo", "hi", "reached"), [
    (40, 500, 11, 12, True),    # the seed's example: exactly 500, not 520
    (100, 500, 4, 4, True),
    (10, 210, 20, 20, False),   # capped at 20 each: short of the target
    (750, 500, 0, 0, True),     # subsampled
    (500, 500, 0, 0, True),
    (1, 21, 20, 20, False),
    (499, 500, 0, 1, True),
])
def test_plan_counts_follow_the_rule(n, total, lo, hi, reached):
    p = plan(n)
    assert p.total == total
    assert p.augmentations_per_original == (lo, hi)
    assert p.reached_target is reached
    assert p.usable == n
    assert p.kept == min(n, 500)


def test_keep_all_originals_keeps_every_recording():
    p = plan(750, keep_all=True)
    assert p.kept == 750 and p.total == 750


def test_zero_originals_plans_nothing():
    p = plan(0)
    assert p.total == 0 and not p.reached_target


def test_augmentations_walk_one_cycle_of_types_over_the_class():
    p = plan(7, target=60)  # 53 augmentations: 7 or 8 each
    per_type = _type_counts([a.augmentation for a in t.augmentations] for t in p.tasks)
    assert sorted(per_type.values()) == [13, 13, 13, 14]
    for task in p.tasks:
        own = [a.augmentation for a in task.augmentations]
        assert max(own.count(t) for t in AUGS) - min(own.count(t) for t in AUGS) <= 1
        assert [a.number for a in task.augmentations] == list(range(1, len(task.augmentations) + 1))
        first = task.augmentations[0]
        assert first.filename.endswith(f"_aug001_{first.augmentation}.wav")


def test_a_class_with_one_augmentation_per_original_gets_every_type():
    """The case of a class of 20 clips that once got 19 time_stretch and nothing else."""
    p = plan(20, target=39)
    per_type = _type_counts([a.augmentation for a in t.augmentations] for t in p.tasks)
    assert sum(per_type.values()) == 19 and sorted(per_type.values()) == [4, 5, 5, 5]


def test_plan_is_a_function_of_the_seed():
    a, b = plan(40), plan(40)
    assert a == b
    other = plan_class("owl", [f"rec_{i:04d}.wav" for i in range(40)], target=500,
                       max_augmentations=20, augmentations=AUGS, seed=7)
    assert [len(t.augmentations) for t in other.tasks] != [len(t.augmentations) for t in a.tasks]


def test_each_augmented_file_has_its_own_seed():
    seeds = [a.seed for t in plan(40).tasks for a in t.augmentations]
    assert len(set(seeds)) == len(seeds)


def test_share_never_exceeds_cap_and_sums_to_target():
    rng = random.Random(0)
    for _ in range(300):
        n, target, cap = rng.randint(1, 200), rng.randint(1, 800), rng.randint(0, 30)
        shares = share_augmentations([rng.randrange(1000) for _ in range(n)], target, cap)
        assert len(shares) == n and max(shares) <= max(cap, 0)
        assert max(shares) - min(shares) <= 1
        assert n + sum(shares) == (min(target, n * (1 + cap)) if n < target else n)


def test_selection_spreads_evenly_over_sub_folders():
    sources = [f"night1/a{i}.wav" for i in range(90)] + [f"night2/b{i}.wav" for i in range(8)] + \
              [f"night3/c{i}.wav" for i in range(50)]
    chosen = select_spread(sources, 60, random.Random(1))
    per = {d: sum(s.startswith(d) for s in chosen) for d in ("night1", "night2", "night3")}
    assert len(chosen) == 60 and len(set(chosen)) == 60
    assert per["night2"] == 8 and per["night1"] == 26 and per["night3"] == 26


def test_stems_are_unique_and_independent_of_order():
    sources = ["a.wav", "a.mp3", "site1/a.wav", "site2/a.wav", "b.wav", "x/b.WAV", "a_wav.wav"]
    stems = unique_stems(sources)
    assert len({s.lower() for s in stems.values()}) == len(sources)
    assert unique_stems(list(reversed(sources))) == stems
    assert stems["b.wav"] == "b" and stems["x/b.WAV"] == "x__b"


def test_colliding_stems_give_distinct_file_names():
    p = plan_class("bat", ["site1/a.wav", "site2/a.wav"], target=4, max_augmentations=5,
                   augmentations=AUGS, seed=1)
    names = [f.filename for t in p.tasks for f in t.files]
    assert len(names) == len(set(names)) == 4
    assert {t.source for t in p.tasks} == {"site1/a.wav", "site2/a.wav"}


def _type_counts(types_per_original):
    from collections import Counter
    return Counter(t for types in types_per_original for t in types)
