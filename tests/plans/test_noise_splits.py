"""keep_noise_in_split: a val or test group mixed with noise of another split; shared groups stay whole."""

from __future__ import annotations

from nightscan_common.formats.pool_reader import PoolFile
from nightscan_common.plans.grouping import group_pool
from nightscan_common.plans.index_plan import plan_pool
from nightscan_common.plans.noise_splits import keep_noise_in_split
from nightscan_common.plans.split_plan import DEFAULT_RATIOS

NIGHTS = 14


def pool(noise: str | None) -> dict[str, list[PoolFile]]:
    """owl and moth share 14 nights and have 2 recordings of their own; an owl augmentation
    of each night is mixed with ``noise``."""
    files = {"wind": [PoolFile(name=f"w{i}_original.wav", is_augmented=False, source=f"wind/w{i}.wav",
                               augmentation=None, sha256=f"w{i}")
                      for i in range(10)]}
    for cls in ("owl", "moth"):
        files[cls] = [f for r in range(2) for f in (
            PoolFile(name=f"{cls}{r}_original.wav", is_augmented=False, source=f"{cls}/r{r}.wav",
                     augmentation=None, sha256=f"{cls}{r}"),
            PoolFile(name=f"{cls}{r}_aug001_noise.wav", is_augmented=True, source=f"{cls}/r{r}.wav",
                     augmentation="noise"))]
        for k in range(NIGHTS):
            files[cls] += [PoolFile(name=f"n{k}_{cls}_original.wav", is_augmented=False, source=f"n{k}.wav",
                                    augmentation=None, sha256=f"n{k}{cls}"),
                           PoolFile(name=f"n{k}_{cls}_aug001_background_noise.wav", is_augmented=True,
                                    source=f"n{k}.wav",
                                    augmentation="background_noise", noise=noise if cls == "owl" else None)]
    return files


def test_a_shared_group_with_foreign_noise_leaves_the_file_out_rather_than_trading_one_class_away():
    def planned(noise):
        return plan_pool(group_pool(pool(noise), root_relative=True), ratios=DEFAULT_RATIOS, seed=1)

    wind = next(cp for cp in planned(None).classes if cp.name == "wind")
    splits = zip(wind.grouping.groups, wind.plan.assignment, strict=True)
    train_wind = next(g.files[0].source for g, s in splits if s == 0)
    plan = planned(f"wind/{train_wind}")
    held_out = sorted(k for k, s in plan.shared_splits.items() if s != 0)
    assert held_out  # some nights are in val or test
    fixed, noise = keep_noise_in_split(plan.classes)
    assert noise.swapped == 0
    assert noise.left_out == {f"owl/{k[:-4]}_owl_aug001_background_noise.wav" for k in held_out}
    for cp in fixed:
        where = dict(zip((g.key for g in cp.grouping.groups), cp.plan.assignment, strict=True))
        assert all(where[k] == s for k, s in plan.shared_splits.items() if k in where)
