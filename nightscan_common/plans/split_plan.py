"""Assigning whole groups to train/val/test so that each split's size is close to its ratio.

A pure function of (group sizes, ratios, seed), in the manner of scikit-learn's
splitters: one RNG made from the seed, every check in one validation function whose
messages repeat the bad value, plain data returned (indices into ``SPLITS``), nothing
copied.

The bound it keeps: each split's sample count differs from its target by less than the
largest group (so exactly when every group is one file), whenever every split with a
positive ratio has a target of at least the largest group. Below that, a split may have
to take a whole group bigger than its target so as not to stay empty.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import UsageError
from ..vocabulary import SPLITS

#: train, val, test.
DEFAULT_RATIOS = (0.8, 0.1, 0.1)
#: How far from 1 the ratios' sum may be: ratios written to 4 decimals are each off by at
#: most 5e-5 (0.3333 x 3 = 0.9999), three of them by 1.5e-4; a typo (0.8/0.1/0.11) is off
#: by 1e-2 and still refused. The ratios are then scaled to sum to exactly 1.
RATIO_TOLERANCE = 2e-4


@dataclass(frozen=True, kw_only=True)
class SplitPlan:
    """Where each group goes, and how the splits' sizes compare with their targets.

    ``assignment[i]`` is the index in ``SPLITS`` of group ``i``'s split; ``targets`` and
    ``counts`` are sample counts per split, in ``SPLITS`` order; ``empty`` names the
    splits with a positive ratio that got no group (the class has too few groups).
    """

    assignment: tuple[int, ...]
    targets: tuple[int, ...]
    counts: tuple[int, ...]
    empty: tuple[str, ...]

    @property
    def max_deviation(self) -> int:
        """The largest distance, in samples, between a split's count and its target."""
        return max(abs(c - t) for c, t in zip(self.counts, self.targets, strict=True))


def check_ratios(ratios: Sequence[float]) -> tuple[float, ...]:
    """Validate train/val/test ratios; return them scaled to sum to exactly 1.

    Raises ``UsageError`` with the bad value: a ratio below 0 or not a number, or a
    sum further than ``RATIO_TOLERANCE`` from 1.
    """
    if len(ratios) != len(SPLITS):
        raise UsageError(f"expected {len(SPLITS)} ratios ({'/'.join(SPLITS)}), got {list(ratios)}")
    for name, ratio in zip(SPLITS, ratios, strict=True):
        if not isinstance(ratio, int | float) or not math.isfinite(ratio):
            raise UsageError(f"the {name} ratio must be a number, got {ratio!r}")
        if ratio < 0:
            raise UsageError(f"the {name} ratio must be 0 or more, got {ratio:g}")
    total = math.fsum(ratios)
    if abs(total - 1.0) > RATIO_TOLERANCE:
        terms = " + ".join(f"{r:g}" for r in ratios)
        raise UsageError(f"the {'/'.join(SPLITS)} ratios must sum to 1, got {terms} = {total:.6g}")
    return tuple(r / total for r in ratios)


def split_targets(total: int, ratios: Sequence[float]) -> tuple[int, ...]:
    """Whole sample counts per split that sum to ``total`` (largest remainder method).

    Each target is ratio x total rounded down, and the samples left over go to the
    largest fractional parts (ties: the larger ratio, then the earlier split).
    """
    quotas = [round(r * total, 9) for r in ratios]  # 0.1 * 30 is 3.0000000000000004
    floors = [math.floor(q) for q in quotas]
    order = sorted(range(len(ratios)), key=lambda s: (-(quotas[s] - floors[s]), -ratios[s], s))
    for s in order[: total - sum(floors)]:
        floors[s] += 1
    return tuple(floors)


def plan_split(sizes: Sequence[int], ratios: Sequence[float] = DEFAULT_RATIOS, *,
               seed: int, pinned: Mapping[int, int] | None = None) -> SplitPlan:
    """Assign groups of ``sizes[i]`` samples to splits in proportion to ``ratios``.

    Groups are shuffled with the seed, then stably sorted largest first, and each goes
    to the split furthest below its target (ties: the one furthest below in proportion
    to its target, then the earlier split). A split with ratio 0 gets nothing. Then
    every split with a positive ratio that is still empty takes one group from a split
    holding two or more, largest ratio first, so that a class of three groups or more
    fills all three splits and one of two groups fills the two largest.

    Why it stays within one group of the targets: a group only goes to a split whose
    deficit is the largest, hence positive, so a split overshoots by less than that
    group; and a split left short by D means every other split took its last group
    while at least D short, so their overshoots, which add up to D, are each below
    (largest group - D), which gives D < largest group.

    ``pinned`` maps groups whose split is already decided (groups that hold other
    classes too) to it: they count toward their split and are never moved. The bound
    above still holds when no split's pinned count exceeds its target.
    """
    ratios = check_ratios(ratios)
    sizes = _check_sizes(sizes)
    rng = _make_rng(seed)
    targets = split_targets(sum(sizes), ratios)
    eligible = [s for s, r in enumerate(ratios) if r > 0]
    order = list(range(len(sizes)))
    _shuffle(order, rng)
    order.sort(key=lambda g: -sizes[g])
    assignment = [0] * len(sizes)
    counts = [0] * len(ratios)
    pinned = pinned or {}
    for g, s in pinned.items():
        assignment[g] = s
        counts[s] += sizes[g]
    for g in order:
        if g in pinned:
            continue
        s = max(eligible, key=lambda s: _neediness(targets[s], counts[s], s))
        assignment[g] = s
        counts[s] += sizes[g]
    _fill_empty_splits(assignment, counts, sizes, targets, eligible, ratios, pinned)
    _improve(assignment, counts, sizes, targets, eligible,
             rank={g: i for i, g in enumerate(order) if g not in pinned})
    held = set(assignment)
    empty = tuple(SPLITS[s] for s in eligible if s not in held)
    return SplitPlan(assignment=tuple(assignment), targets=targets, counts=tuple(counts), empty=empty)


def _neediness(target: int, count: int, split: int) -> tuple[int, float, int]:
    """Sort key of a split for the next group: absolute deficit, relative deficit, order."""
    deficit = target - count
    return deficit, deficit / max(target, 1), -split


def _fill_empty_splits(assignment: list[int], counts: list[int], sizes: Sequence[int],
                       targets: Sequence[int], eligible: Sequence[int],
                       ratios: Sequence[float], pinned: Mapping[int, int]) -> None:
    """Move one group into each empty eligible split, from a split that keeps one.

    The group moved is the one that leaves the largest deviation smallest (then the
    smallest group, then the first), so the repair costs as little balance as it can.
    """
    for empty in sorted(eligible, key=lambda s: (-ratios[s], s)):
        held = [assignment.count(s) for s in range(len(ratios))]
        if held[empty]:
            continue
        candidates = [g for g, s in enumerate(assignment) if held[s] >= 2 and g not in pinned]
        if not candidates:
            return
        g = min(candidates, key=lambda g, to=empty: (
            _score(_moved(counts, assignment[g], to, sizes[g]), targets, eligible)[0], sizes[g], g))
        counts[:] = _moved(counts, assignment[g], empty, sizes[g])
        assignment[g] = empty


def _improve(assignment: list[int], counts: list[int], sizes: Sequence[int],
             targets: Sequence[int], eligible: Sequence[int], *, rank: dict[int, int]) -> None:
    """Move or swap groups between splits while that brings the counts nearer the targets.

    The greedy pass can leave, say, 404/48/48 where 400/50/50 is reachable with groups
    of 12 and 13. A change is taken only if it lowers (largest deviation, sum of squared
    deviations), so the greedy pass's bound holds, and never empties a split. Groups of
    one size in one split are interchangeable: the first in the seeded order is the one
    moved, so the work per step depends on the number of distinct sizes, not of groups.
    Pinned groups (not in ``rank``) stay where they are.
    """
    current = _score(counts, targets, eligible)
    while current[1]:
        members = {s: {} for s in eligible}
        for g in sorted(rank, key=rank.__getitem__):
            members[assignment[g]].setdefault(sizes[g], g)
        best, change = current, None
        for x in eligible:
            for y in eligible:
                if x == y:
                    continue
                pairs = [(members[x][a], None) for a in members[x]] if assignment.count(x) >= 2 else []
                pairs += [(members[x][a], members[y][b]) for a in members[x] for b in members[y]
                          if a > b]
                for g, h in pairs:
                    moved = _moved(counts, x, y, sizes[g] - (sizes[h] if h is not None else 0))
                    if (new := _score(moved, targets, eligible)) < best:
                        best, change = new, (g, h, x, y, moved)
        if change is None:
            return
        g, h, x, y, counts[:] = change
        assignment[g] = y
        if h is not None:
            assignment[h] = x
        current = best


def _moved(counts: Sequence[int], src: int, dst: int, size: int) -> list[int]:
    """Split counts after ``size`` samples go from split ``src`` to split ``dst``."""
    moved = list(counts)
    moved[src] -= size
    moved[dst] += size
    return moved


def _score(counts: Sequence[int], targets: Sequence[int], eligible: Sequence[int]) -> tuple[int, int]:
    """How far counts are from targets: (largest deviation, sum of squared deviations)."""
    devs = [counts[s] - targets[s] for s in eligible]
    return max(map(abs, devs), default=0), sum(d * d for d in devs)


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    """Group sizes must be whole numbers of at least 1 (a group holds one file or more)."""
    for i, size in enumerate(sizes):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise UsageError(f"group sizes must be whole numbers of 1 or more, got {size!r} at {i}")
    return list(sizes)


def _make_rng(seed: int) -> random.Random:
    """The one RNG of a plan, made from an explicit seed (never global state)."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise UsageError(f"the seed must be a whole number, got {seed!r}")
    return random.Random(seed)


def _shuffle(items: list, rng: random.Random) -> None:
    """Fisher-Yates on ``rng.random()``, in place.

    Python promises the same ``random()`` sequence for a seed in every version, but not
    the same ``shuffle``; this keeps a seed's split the same on every machine.
    """
    for i in range(len(items) - 1, 0, -1):
        j = int(rng.random() * (i + 1))
        items[i], items[j] = items[j], items[i]
