"""plan_pool: one assignment for all classes, property-style over hundreds of seeded random pools."""

from __future__ import annotations

import random

import pytest

from nightscan_common.formats.pool_reader import PoolFile
from nightscan_common.plans.grouping import group_pool
from nightscan_common.plans.index_plan import OldSplits, class_rows, plan_pool
from nightscan_common.plans.split_plan import DEFAULT_RATIOS, plan_split
from nightscan_common.seeds import derive_seed
from nightscan_common.vocabulary import SPLITS

INSTANCES = 300


def recording_files(cls: str, source: str, size: int, tag: str) -> list[PoolFile]:
    stem = f"{source.replace('/', '_')[:-4]}_{tag}"
    return ([PoolFile(name=f"{stem}_original.wav", is_augmented=False, source=source, augmentation=None,
                      sha256=f"{cls}/{stem}")]
            + [PoolFile(name=f"{stem}_aug{n:03d}_noise.wav", is_augmented=True, source=source,
                        augmentation="noise") for n in range(1, size)])


def random_pool(rng: random.Random, *, shared: bool = True) -> dict[str, list[PoolFile]]:
    """2 to 6 classes of 6 to 40 recordings of 1 to 6 files each; with ``shared``, up to a fifth
    of the recordings (named from the audio root) also hold clips of one or two other classes."""
    classes = [f"c{i}" for i in range(rng.randint(2, 6))]
    pool: dict[str, list[PoolFile]] = {c: [] for c in classes}
    for ci, c in enumerate(classes):
        for r in range(rng.randint(6, 40)):
            source = f"{c}/rec{r:03d}.wav"
            pool[c] += recording_files(c, source, rng.randint(1, 6), "a")
            if shared and rng.random() < 0.2:
                others = [o for o in classes if o != c]
                for other in rng.sample(others, k=min(len(others), rng.randint(1, 2))):
                    pool[other] += recording_files(other, source, rng.randint(1, 3), f"b{ci}")
    return {c: sorted(files, key=lambda f: f.name) for c, files in pool.items()}


def random_ratios(rng: random.Random) -> tuple[float, ...]:
    return rng.choice([DEFAULT_RATIOS, (0.7, 0.15, 0.15), (0.6, 0.2, 0.2), (0.5, 0.25, 0.25)])


def split_of_groups(plan) -> dict[str, set[str]]:
    where: dict[str, set[str]] = {}
    for cp in plan.classes:
        for row in class_rows(cp):
            where.setdefault(row[6], set()).add(row[5])
    return where


@pytest.mark.parametrize("start", range(0, INSTANCES, 50))
def test_no_group_in_two_splits_and_every_class_within_one_largest_group_of_its_targets(start):
    for i in range(start, start + 50):
        rng = random.Random(i)
        grouping = group_pool(random_pool(rng), root_relative=True)
        plan = plan_pool(grouping, ratios=random_ratios(rng), seed=i)
        assert all(len(s) == 1 for s in split_of_groups(plan).values()), i
        for cp in plan.classes:
            largest = cp.largest_group
            if any(0 < t < largest for t in cp.plan.targets):
                continue  # a split smaller than a group: a whole group may have to overshoot it
            for count, target in zip(cp.plan.counts, cp.plan.targets, strict=True):
                assert abs(count - target) < largest, (i, cp.name, cp.plan)


def test_the_instances_do_hold_groups_across_classes():
    shared = [len(group_pool(random_pool(random.Random(i)), root_relative=True).shared) for i in range(50)]
    assert sum(1 for n in shared if n) >= 45 and max(shared) >= 10


@pytest.mark.parametrize("start", range(0, INSTANCES, 100))
def test_one_file_groups_of_one_class_split_exactly_as_each_class_alone(start):
    for i in range(start, start + 100):
        rng = random.Random(i)
        pool = {f"c{k}": [PoolFile(name=f"r{j:03d}_original.wav", is_augmented=False, source=f"r{j:03d}.wav",
                                   augmentation=None, sha256=f"c{k}/{j}")
                          for j in range(rng.randint(10, 120))] for k in range(rng.randint(1, 4))}
        ratios = random_ratios(rng)
        plan = plan_pool(group_pool(pool), ratios=ratios, seed=i)
        for cp in plan.classes:
            assert cp.plan.counts == cp.plan.targets, (i, cp.name)
            alone = plan_split([1] * len(pool[cp.name]), ratios, seed=derive_seed(i, cp.name))
            assert cp.plan == alone


def test_500_one_file_groups_are_400_50_50():
    pool = {"owl": [PoolFile(name=f"r{j:03d}_original.wav", is_augmented=False, source=f"r{j:03d}.wav",
                             augmentation=None, sha256=str(j))
                    for j in range(500)]}
    (owl,) = plan_pool(group_pool(pool), ratios=DEFAULT_RATIOS, seed=42).classes
    assert owl.plan.counts == (400, 50, 50)


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    for i in range(40):
        pool = random_pool(random.Random(i))
        a = plan_pool(group_pool(pool, root_relative=True), ratios=DEFAULT_RATIOS, seed=7)
        b = plan_pool(group_pool(dict(reversed(pool.items())), root_relative=True),
                      ratios=DEFAULT_RATIOS, seed=7)
        assert split_of_groups(a) == split_of_groups(b)
    grouping = group_pool(random_pool(random.Random(3)), root_relative=True)
    one, two = (split_of_groups(plan_pool(grouping, ratios=DEFAULT_RATIOS, seed=s)) for s in (1, 2))
    assert one != two


def test_every_class_with_three_groups_or_more_has_every_split_or_is_named():
    for i in range(100):
        rng = random.Random(1000 + i)
        plan = plan_pool(group_pool(random_pool(rng), root_relative=True), ratios=DEFAULT_RATIOS, seed=i)
        for cp in plan.classes:
            if len(cp.grouping.groups) >= 3 and cp.plan.empty:
                assert cp.grouping.shared, (i, cp.name)  # only groups of other classes can leave it short


def test_sites_shared_by_every_class_fill_every_split_by_moving_a_whole_site():
    pool = {c: [f for s in range(3) for n in range(2)
                for f in recording_files(c, f"site{s}/night{n}.wav", 1, "x")] for c in ("a", "b", "c", "d")}
    grouping = group_pool(pool, root_relative=True)
    plan = plan_pool(grouping, ratios=DEFAULT_RATIOS, seed=1)
    assert len(grouping.shared) == 6
    for cp in plan.classes:
        assert not cp.plan.empty and sum(cp.plan.counts) == 6


def test_an_added_class_leaves_the_other_classes_where_they_were():
    rng = random.Random(5)
    pool = {c: [f for r in range(rng.randint(5, 30))
                for f in recording_files(c, f"{c}/r{r}.wav", rng.randint(1, 4), "x")]
            for c in ("a", "b", "c")}
    before = split_of_groups(plan_pool(group_pool(pool), ratios=DEFAULT_RATIOS, seed=3))
    pool["d"] = [f for r in range(12) for f in recording_files("d", f"d/r{r}.wav", 2, "x")]
    after = split_of_groups(plan_pool(group_pool(pool), ratios=DEFAULT_RATIOS, seed=3))
    assert all(after[k] == v for k, v in before.items())


def test_old_splits_pin_every_group_they_held_and_new_shared_groups_fill_toward_the_targets():
    pool = {c: [f for s in range(3) for f in recording_files(c, f"site{s}/n.wav", 2, "x")]
            for c in ("a", "b")}
    old = OldSplits(files={}, groups={"site0/n.wav": 2, "site1/n.wav": 1, "site2/n.wav": 0})
    pool = {c: files + recording_files(c, "site3/n.wav", 2, "x") for c, files in pool.items()}
    plan = plan_pool(group_pool(pool, root_relative=True), ratios=DEFAULT_RATIOS, seed=0, old=old)
    where = split_of_groups(plan)
    assert [where[f"site{s}/n.wav"] for s in range(3)] == [{"test"}, {"val"}, {"train"}]
    assert where["site3/n.wav"] == {"train"}
    assert (plan.kept.kept, plan.kept.added, plan.kept.merges) == (3, 1, ())
    assert SPLITS == ("train", "val", "test")
