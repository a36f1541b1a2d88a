"""Step 2's plan (pure): the pool's groups, the split of each, and the index rows they give.

One assignment for all classes: the groups that hold several classes are placed first,
for all their classes at once (``place_shared``); then each class's own groups fill its
splits toward their targets (``plan_split``, the shared groups pinned), with a seed
derived from the run's and the class's. A pool where no group holds two classes is
thus split exactly as each class on its own, and adding a class leaves the others as
they were.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..seeds import derive_seed
from ..vocabulary import SPLITS
from .grouping import Grouping, PoolGrouping
from .kept_split import KeptSplit, merged_split, plan_kept_split
from .shared_split import place_shared
from .split_plan import SplitPlan, check_ratios, plan_split, split_targets

TRAIN = SPLITS.index("train")
#: What the seed of the shared groups' order is derived from (no class is named so).
SHARED_SEED_LABEL = "\x00groups across classes"


@dataclass(frozen=True, kw_only=True)
class ClassPlan:
    """One class's groups and where they go."""

    name: str
    grouping: Grouping
    plan: SplitPlan
    kept: KeptSplit | None = None  # how each group got its split, with --keep-splits-from

    @property
    def largest_group(self) -> int:
        """The class's samples in its largest group: what bounds each split's deviation."""
        return max((len(g.files) for g in self.grouping.groups), default=0)


@dataclass(frozen=True)
class OldSplits:
    """An older index's splits (indices into ``SPLITS``): by file path, by group key, and for
    originals of the new pool found in it under another path, by content."""

    files: Mapping[str, int]
    groups: Mapping[str, int]
    content: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Merge:
    """A group made of parts of several old splits, and where it went."""

    key: str
    was: tuple[tuple[int, int], ...]  # (old split, files of the group there), by split
    split: int

    @property
    def moved(self) -> int:
        return sum(n for s, n in self.was if s != self.split)


@dataclass(frozen=True)
class KeptGroups:
    """With ``--keep-splits-from``: groups kept in their old split, new, or merged from several."""

    kept: int
    added: int
    merges: tuple[Merge, ...]


@dataclass(frozen=True, kw_only=True)
class PoolPlan:
    """Every class's plan, and the split of each group that holds several classes."""

    classes: list[ClassPlan]
    grouping: PoolGrouping
    shared_splits: dict[str, int]
    kept: KeptGroups | None = None


def plan_pool(grouping: PoolGrouping, *, ratios: Sequence[float], seed: int,
              old: OldSplits | None = None) -> PoolPlan:
    """Split every group of the pool (see the module); with ``old``, every group an older
    index held keeps its split, and a group made of parts of several goes where val and
    test receive nothing that was in train (``merged_split``)."""
    ratios = check_ratios(ratios)
    eligible = [s for s, r in enumerate(ratios) if r > 0]
    sizes = {c: [len(g.files) for g in gr.groups] for c, gr in grouping.classes.items()}
    previous = _previous(grouping, old) if old is not None else {}
    keys = list(grouping.shared)
    fixed = {i: _old_split(previous[k]) for i, k in enumerate(keys) if previous.get(k)}
    shared_splits = _place(grouping, keys, sizes, ratios, eligible, seed=seed, fixed=fixed)
    plans = {c: _class_plan(c, gr, sizes[c], shared_splits, ratios, seed=seed, previous=previous,
                            kept=old is not None)
             for c, gr in grouping.classes.items()}
    if old is None:
        _fill_from_shared(plans, grouping, shared_splits, sizes, ratios, seed=seed)
    kept = _kept_groups(grouping, previous) if old is not None else None
    return PoolPlan(classes=list(plans.values()), grouping=grouping, shared_splits=shared_splits, kept=kept)


def _place(grouping: PoolGrouping, keys: list[str], sizes: Mapping[str, list[int]],
           ratios: tuple[float, ...], eligible: list[int], *, seed: int,
           fixed: Mapping[int, int]) -> dict[str, int]:
    """The split of each shared group (``place_shared`` over the classes they hold)."""
    if not keys:
        return {}
    classes = sorted({c for k in keys for c in grouping.shared[k]})
    targets = {c: split_targets(sum(sizes[c]), ratios) for c in classes}
    largest = {c: max(sizes[c]) for c in classes}
    splits = place_shared([grouping.shared[k] for k in keys], targets, largest, eligible,
                          seed=derive_seed(seed, SHARED_SEED_LABEL), fixed=fixed)
    return dict(zip(keys, splits, strict=True))


def _class_plan(name: str, grouping: Grouping, sizes: list[int], shared_splits: Mapping[str, int],
                ratios: tuple[float, ...], *, seed: int, previous: Mapping[str, dict[int, int]],
                kept: bool) -> ClassPlan:
    """One class's own groups placed around its pinned shared ones."""
    pinned = {i: shared_splits[g.key] for i, g in enumerate(grouping.groups) if g.key in grouping.shared}
    class_seed = derive_seed(seed, name)
    if not kept:
        return ClassPlan(name=name, grouping=grouping,
                         plan=plan_split(sizes, ratios, seed=class_seed, pinned=pinned))
    was = [previous.get(g.key, {}) for g in grouping.groups]
    result = plan_kept_split(sizes, was, ratios, seed=class_seed, pinned=pinned)
    return ClassPlan(name=name, grouping=grouping, plan=result.plan, kept=result)


def _fill_from_shared(plans: dict[str, ClassPlan], grouping: PoolGrouping, shared_splits: dict[str, int],
                      sizes: Mapping[str, list[int]], ratios: tuple[float, ...], *, seed: int) -> None:
    """A class with three groups or more left with an empty split (its own groups could not
    fill it) takes a shared group there, when every class that group holds keeps another
    group in the split it leaves; the classes it holds are then planned again."""
    for _ in range(len(shared_splits)):
        move = _best_shared_move(plans, grouping, shared_splits)
        if move is None:
            return
        key, split = move
        shared_splits[key] = split
        for c in grouping.shared[key]:
            plans[c] = _class_plan(c, plans[c].grouping, sizes[c], shared_splits, ratios, seed=seed,
                                   previous={}, kept=False)


def _best_shared_move(plans: Mapping[str, ClassPlan], grouping: PoolGrouping,
                      shared_splits: Mapping[str, int]) -> tuple[str, int] | None:
    """The first (class, empty split) that a shared group can fill: the group that leaves the
    classes it holds nearest their targets (then the smallest key)."""
    held = {c: [list(cp.plan.assignment).count(s) for s in range(len(SPLITS))] for c, cp in plans.items()}
    for _, cp in sorted(plans.items()):
        if len(cp.grouping.groups) < len(SPLITS) or not cp.plan.empty:
            continue
        for empty in (SPLITS.index(s) for s in cp.plan.empty):
            options = []
            for key in sorted(cp.grouping.shared):
                src = shared_splits[key]
                if src == empty or any(held[d][src] < 2 for d in grouping.shared[key]):
                    continue
                options.append((_spread_after(plans, grouping.shared[key], src, empty), key))
            if options:
                return min(options)[1], empty
    return None


def _spread_after(plans: Mapping[str, ClassPlan], group: Mapping[str, int], src: int, dst: int) -> float:
    """Sum over the group's classes of squared deviations (in largest groups) after a move."""
    total = 0.0
    for c, n in group.items():
        plan, scale = plans[c].plan, max(plans[c].largest_group, 1)
        for s, (count, target) in enumerate(zip(plan.counts, plan.targets, strict=True)):
            count += -n if s == src else n if s == dst else 0
            total += ((count - target) / scale) ** 2
    return total


def _previous(grouping: PoolGrouping, old: OldSplits) -> dict[str, dict[int, int]]:
    """Per group key: how many of its files each old split held (by path, else by content);
    a split with 0 where only the group's key was there."""
    previous: dict[str, dict[int, int]] = {}
    for c, gr in grouping.classes.items():
        for group in gr.groups:
            was = previous.setdefault(group.key, {})
            if (split := old.groups.get(group.key)) is not None:
                was.setdefault(split, 0)
            for f in group.files:
                path = f"{c}/{f.name}"
                split = old.files.get(path)
                if split is None and not f.is_augmented:
                    split = old.content.get(path)
                if split is not None:
                    was[split] = was.get(split, 0) + 1
    return previous


def _old_split(was: Mapping[int, int]) -> int:
    return next(iter(was)) if len(was) == 1 else merged_split(was)


def _kept_groups(grouping: PoolGrouping, previous: Mapping[str, dict[int, int]]) -> KeptGroups:
    kept = added = 0
    merges = []
    for key in sorted(previous):
        was = previous[key]
        if not was:
            added += 1
        elif len(was) == 1:
            kept += 1
        else:
            merges.append(Merge(key, tuple(sorted(was.items())), merged_split(was)))
    return KeptGroups(kept, added, tuple(merges))


def class_rows(cp: ClassPlan, *, eval_originals_only: bool = False,
               leave_out: frozenset[str] = frozenset()) -> list[tuple]:
    """One class's rows in ``COLUMNS`` order, sorted by file path; ``leave_out`` holds
    ``<class>/<file>`` paths kept out of the index (noise from another split)."""
    name = cp.name
    originals: dict[str, str] = {}
    for group in cp.grouping.groups:
        for f in group.files:
            if not f.is_augmented:
                originals.setdefault(f.source, f.name)
    rows = []
    for group, split in zip(cp.grouping.groups, cp.plan.assignment, strict=True):
        for f in group.files:
            if (eval_originals_only and split != TRAIN and f.is_augmented) or f"{name}/{f.name}" in leave_out:
                continue
            rows.append((f"{name}/{f.name}", name, int(f.is_augmented),
                         f"{name}/{originals.get(f.source, f.source)}", f.augmentation,
                         SPLITS[split], group.key))
    rows.sort()
    return rows


def original_rows(cp: ClassPlan, grouping: PoolGrouping) -> list[tuple]:
    """The ``originals`` rows of one class, sorted by file path: what ties each original to
    others (its recording, its pattern key, its span in the recording) and its content."""
    rows = []
    for group in cp.grouping.groups:
        for f in group.files:
            if f.is_augmented:
                continue
            recording = grouping.recording(cp.name, f)
            start, length = f.offset_seconds, f.seconds
            end = start + length if start is not None and length is not None else None
            rows.append((f"{cp.name}/{f.name}", recording, grouping.sites.get(recording),
                         start, end, f.sha256, f.fingerprint))
    rows.sort()
    return rows

