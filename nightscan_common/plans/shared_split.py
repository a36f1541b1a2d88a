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

Then groups move, one at a time, while a move lowers the samples by which the shared
groups alone overfill a class's split (scaled the same way), then the sum of squared
deviations: a class whose shared groups stay within every target keeps ``plan_split``'s
bound (within one largest group of each target) once its own groups are placed.
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
    _relieve_overfilled(groups, assignment, counts, targets, largest, eligible, movable=order)
    return assignment


def _relieve_overfilled(groups: Sequence[Mapping[str, int]], assignment: list[int],
                        counts: dict[str, list[int]], targets: Mapping[str, Sequence[int]],
                        largest: Mapping[str, int], eligible: Sequence[int], *,
                        movable: Sequence[int]) -> None:
    """Move groups (in ``movable``'s order) while a move lowers (overfill, squared deviation) of
    the classes it holds; at most a few passes over the groups."""
    for _ in range(4):
        changed = False
        for g in movable:
            src = assignment[g]
            if not any(counts[c][src] > targets[c][src] for c in groups[g]):
                continue
            here = _score(groups[g], counts, targets, largest)
            best, choice = here, None
            for dst in eligible:
                if dst == src:
                    continue
                _shift(counts, groups[g], src, dst)
                if (new := _score(groups[g], counts, targets, largest)) < best:
                    best, choice = new, dst
                _shift(counts, groups[g], dst, src)
            if choice is not None:
                _shift(counts, groups[g], src, choice)
                assignment[g] = choice
                changed = True
        if not changed:
            return


def _score(group: Mapping[str, int], counts: Mapping[str, Sequence[int]],
           targets: Mapping[str, Sequence[int]], largest: Mapping[str, int]) -> tuple[float, float]:
    """(overfill, squared deviation) of the classes of ``group``, each in its largest groups."""
    over = dev = 0.0
    for c in group:
        scale = max(largest[c], 1) ** 2
        for count, target in zip(counts[c], targets[c], strict=True):
            over += max(0, count - target) ** 2 / scale
            dev += (count - target) ** 2 / scale
    return over, dev


def _shift(counts: dict[str, list[int]], group: Mapping[str, int], src: int, dst: int) -> None:
    for c, n in group.items():
        counts[c][src] -= n
        counts[c][dst] += n


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
