"""Stable splits across dataset versions (pure): groups of an older index keep their split.

``--keep-splits-from OLD.db``: a group whose files were all in one split of the old
index stays there; a group that is new goes where its split is furthest below its
target, so that each split comes as close as it can to its ratio; a group that merged
groups of several old splits (a newly found duplicate, a new group pattern) must
move some of them, and goes where test and val receive nothing that was in train:
train when any part was there, else the split that held most of it (test on a tie).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..vocabulary import SPLITS
from .split_plan import SplitPlan, _make_rng, _neediness, _shuffle, check_ratios, split_targets

TRAIN = SPLITS.index("train")


@dataclass(frozen=True)
class Merge:
    """A group made of parts of several old splits, and where it went."""

    group: int  # index into the class's groups
    was: tuple[tuple[int, int], ...]  # (old split, files of the group there), by split
    split: int

    @property
    def moved(self) -> int:
        """Files that change split."""
        return sum(n for s, n in self.was if s != self.split)


@dataclass(frozen=True, kw_only=True)
class KeptSplit:
    """The plan, and how each group got its split."""

    plan: SplitPlan
    kept: tuple[int, ...]  # groups in their old split
    added: tuple[int, ...]  # groups the old index did not hold
    merges: tuple[Merge, ...]


def merged_split(was: Mapping[int, int]) -> int:
    """Where a group of several old splits goes: train if any part was there, else the largest part."""
    if TRAIN in was:
        return TRAIN
    return max(was, key=lambda s: (was[s], s))


def plan_kept_split(sizes: Sequence[int], previous: Sequence[Mapping[int, int]],
                    ratios: Sequence[float], *, seed: int) -> KeptSplit:
    """Assign groups of ``sizes[i]`` samples, ``previous[i]`` saying how many of group i's
    files each old split held (empty: a new group; a split with 0: only its key was there).

    Old groups are placed first; new groups then go, largest first (ties in a seeded
    order), each to the split furthest below its target; a split of ratio 0 takes none.
    """
    ratios = check_ratios(ratios)
    targets = split_targets(sum(sizes), ratios)
    assignment = [0] * len(sizes)
    counts = [0] * len(ratios)
    kept, added, merges = [], [], []
    for g, was in enumerate(previous):
        if not was:
            added.append(g)
            continue
        split = next(iter(was)) if len(was) == 1 else merged_split(was)
        if len(was) == 1:
            kept.append(g)
        else:
            merges.append(Merge(g, tuple(sorted(was.items())), split))
        assignment[g] = split
        counts[split] += sizes[g]
    eligible = [s for s, r in enumerate(ratios) if r > 0]
    order = list(added)
    _shuffle(order, _make_rng(seed))
    order.sort(key=lambda g: -sizes[g])
    for g in order:
        s = max(eligible, key=lambda s: _neediness(targets[s], counts[s], s))
        assignment[g] = s
        counts[s] += sizes[g]
    held = set(assignment) if sizes else set()
    empty = tuple(SPLITS[s] for s in eligible if s not in held)
    return KeptSplit(plan=SplitPlan(assignment=tuple(assignment), targets=targets, counts=tuple(counts),
                                    empty=empty),
                     kept=tuple(kept), added=tuple(added), merges=tuple(merges))
