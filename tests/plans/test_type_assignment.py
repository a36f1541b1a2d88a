"""The augmentation types of a class: within one of each other, a function of the set, stable under change."""

from __future__ import annotations

from collections import Counter

import pytest

from nightscan_common.plans.pool_plan import plan_class
from nightscan_common.plans.type_assignment import assign_types

AUGS = ("time_stretch", "noise", "volume", "combined")
SEVEN = AUGS + ("pitch_shift", "shift", "background_noise")


def _units(n: int) -> list[str]:
    return [f"rec_{i:04d}.wav" for i in range(n)]


@pytest.mark.parametrize("counts", [
    [1] * 19 + [0],            # a class of 20 clips where 19 get one augmentation
    [0, 1] * 10,
    [3] * 7,
    [12, 11, 12, 11] * 10,
    [11] * 33 + [12] * 8,
    [20],
    [0, 0, 0],
    [2, 3, 5, 7, 1, 6, 4] * 5,
])
@pytest.mark.parametrize("types", [AUGS, SEVEN, ("noise",)])
def test_every_type_is_within_one_of_the_others_over_the_class_and_within_an_original(counts, types):
    spread = assign_types(_units(len(counts)), counts, types, seed=42, name="owl")
    assert [len(t) for t in spread] == counts
    per_type = Counter(t for own in spread for t in own)
    if sum(counts):
        assert max(per_type[t] for t in types) - min(per_type[t] for t in types) <= 1
    for own in spread:
        if len(own) <= len(types):
            assert len(set(own)) == len(own)
        else:
            assert max(own.count(t) for t in types) - min(own.count(t) for t in types) <= 1


def test_the_assignment_is_a_function_of_the_set_not_of_the_order():
    units, counts = _units(30), [3, 2, 5] * 10
    forward = dict(zip(units, assign_types(units, counts, AUGS, seed=1, name="bat"), strict=True))
    backward = dict(zip(units[::-1], assign_types(units[::-1], counts[::-1], AUGS, seed=1, name="bat"),
                        strict=True))
    assert forward == backward
    assert assign_types(units, counts, AUGS, seed=2, name="bat") != list(forward.values())
    with pytest.raises(ValueError, match="at least one augmentation type"):
        assign_types(units[:1], [1], (), seed=1, name="bat")


def _files(p):
    return {f.filename for t in p.tasks for f in t.augmentations}


@pytest.mark.parametrize("seed", [42, 7, 2024])
def test_one_recording_added_to_40_at_target_500_remakes_a_few_dozen_files(seed):
    def plan(n: int):
        return plan_class("owl", _units(n), target=500, max_augmentations=20, augmentations=AUGS, seed=seed)

    before, after = plan(40), plan(41)
    new = _files(after) - _files(before)
    new_of_old = {f for f in new if not f.startswith("rec_0040_")}
    assert len(new) <= 30, len(new)  # the new recording's 11 or 12, and a few tails
    assert len(new_of_old) <= 12, sorted(new_of_old)
    # and removing it again gives back the class as it was (a rerun equals a fresh build)
    assert plan(40) == before
