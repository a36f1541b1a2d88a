"""Groups that hold several classes (pure): placed first, for all their classes at once.

A seeded multi-label stratification in the manner of Sechidis et al.'s iterative
stratification and scikit-learn's ``StratifiedGroupKFold``: the groups of the scarcest
class come first (the class with the fewest samples, then larger groups first, ties in
a seeded order), and each goes to the split that needs it most over every class it
holds: the one where it lowers the sum of squared deviations from the targets the most,
each class's deviation measured in its own largest group (so a class of 40 samples
counts as much as one of 4,000). For a group of one class this is the split furthest
below its target, as ``plan_split`` chooses. Each class's own groups are placed after,
by ``plan_split`` with these groups pinned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .split_plan import _make_rng, _shuffle


def place_shared(groups: Sequence[Mapping[str, int]], targets: Mapping[str, Sequence[int]],
                 largest: Mapping[str, int], eligible: Sequence[int], *, seed: int,
                 fixed: Mapping[int, int] | None = None,
                 counts: dict[str, list[int]] | None = None) -> list[int]:
    """The split (index into ``SPLITS``) of each group of ``groups[i]`` (class -> samples).

    ``targets[c]`` are class ``c``'s sample targets per split, ``largest[c]`` its largest
    group's samples; ``fixed`` groups keep their split (an older index's). ``counts``,
    when given, is filled with each class's samples per split from these groups.
    """
    counts = counts if counts is not None else {}
    for c in targets:
        counts.setdefault(c, [0] * len(next(iter(targets.values()))))
    fixed = fixed or {}
    assignment = [-1] * len(groups)
    for g, s in fixed.items():
        _add(counts, groups[g], s, assignment, g)
    total = {c: sum(t) for c, t in targets.items()}
    order = [g for g in range(len(groups)) if g not in fixed]
    _shuffle(order, _make_rng(seed))
    order.sort(key=lambda g: (min(total[c] for c in groups[g]), -sum(groups[g].values())))
    for g in order:
        s = min(eligible, key=lambda s: (_cost(groups[g], s, counts, targets, largest), s))
        _add(counts, groups[g], s, assignment, g)
    return assignment


def _cost(group: Mapping[str, int], split: int, counts: Mapping[str, Sequence[int]],
          targets: Mapping[str, Sequence[int]], largest: Mapping[str, int]) -> float:
    """How much placing ``group`` in ``split`` raises the sum of squared scaled deviations."""
    cost = 0.0
    for c, n in group.items():
        dev = counts[c][split] - targets[c][split]
        cost += n * (2 * dev + n) / max(largest[c], 1) ** 2
    return cost


def _add(counts: dict[str, list[int]], group: Mapping[str, int], split: int, assignment: list[int],
         g: int) -> None:
    assignment[g] = split
    for c, n in group.items():
        counts[c][split] += n
