"""Derived seeds: stable, distinct per unit, in numpy's range."""

from nightscan_common.seeds import derive_seed


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(42, "owl", "a.wav", 1) == derive_seed(42, "owl", "a.wav", 1) == 1316001222
    seeds = {derive_seed(42, "owl", f"{i}.wav", k) for i in range(200) for k in range(5)}
    assert len(seeds) == 1000 and all(0 <= s < 2**32 for s in seeds)

