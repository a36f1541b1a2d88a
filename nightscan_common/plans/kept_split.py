"""Stable splits across dataset versions (pure): groups of an older index keep their split.

``--keep-splits-from OLD.db``: a group whose files were all in one split of the old
index stays there; the groups that are new are placed around them exactly as a fresh
build places a class's groups (``plan_split`` with the old groups pinned), so that each
split comes as close as it can to its ratio and a class the old index did not hold (or
whose old groups pin nothing) gets the very split a fresh index gives it, a class of two
groups filling train and val, not train alone; a group that merged
groups of several old splits (a newly found duplicate, a new group pattern) must
move some of them, and goes where test and val receive nothing that was in train:
train when any part was there, else the split that held most of it (test on a tie).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..vocabulary import SPLITS
from .split_plan import SplitPlan, check_ratios, plan_split

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
                    ratios: Sequence[float], *, seed: int,
                    pinned: Mapping[int, int] | None = None) -> KeptSplit:
    """Assign groups of ``sizes[i]`` samples, ``previous[i]`` saying how many of group i's
    files each old split held (empty: a new group; a split with 0: only its key was there).

    Old groups keep their split (a merged one goes to ``merged_split``); ``pinned`` groups
    (that hold other classes too, placed for all of them) keep theirs and are neither kept
    nor added. The new groups are then placed by ``plan_split`` with all of these pinned,
    with the same seed a fresh build gives the class: the same greedy pass, the same
    repair of an empty split (moving a new group from a split that holds two), the same
    improvement. A split of ratio 0 takes none.
    """
    ratios = check_ratios(ratios)
    pinned = dict(pinned or {})
    kept, added, merges = [], [], []
    for g, was in enumerate(previous):
        if g in pinned:
            continue
        if not was:
            added.append(g)
            continue
        split = next(iter(was)) if len(was) == 1 else merged_split(was)
        if len(was) == 1:
            kept.append(g)
        else:
            merges.append(Merge(g, tuple(sorted(was.items())), split))
        pinned[g] = split
    plan = plan_split(sizes, ratios, seed=seed, pinned=pinned)
    return KeptSplit(plan=plan, kept=tuple(kept), added=tuple(added), merges=tuple(merges))

