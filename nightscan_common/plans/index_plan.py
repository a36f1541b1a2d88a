"""Step 2's plan (pure): a class's groups, the split of each, and the index rows they give."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..formats.pool_reader import PoolFile
from ..seeds import derive_seed
from ..vocabulary import SPLITS
from .grouping import Grouping, group_class
from .kept_split import KeptSplit, plan_kept_split
from .split_plan import SplitPlan, plan_split

TRAIN = SPLITS.index("train")


@dataclass(frozen=True)
class ClassPlan:
    """One class's groups and where they go."""

    name: str
    grouping: Grouping
    plan: SplitPlan
    kept: KeptSplit | None = None  # how each group got its split, with --keep-splits-from


@dataclass(frozen=True)
class OldSplits:
    """An older index's splits (indices into ``SPLITS``): by file path and by group key."""

    files: Mapping[str, int]
    groups: Mapping[str, int]


def plan_class(name: str, files: Iterable[PoolFile], *, ratios: tuple[float, ...], seed: int,
               pattern: re.Pattern[str] | None = None, old: OldSplits | None = None,
               content: Mapping[str, str] | None = None) -> ClassPlan:
    """Group one class and plan its split, with a seed derived from the run's and the class's.

    A seed per class means that adding or removing a class leaves the others' splits as
    they were. With ``old``, every group the old index held keeps its split.
    ``content``: see ``group_class``.
    """
    grouping = group_class(files, pattern=pattern, content=content)
    sizes = [len(g.files) for g in grouping.groups]
    if old is None:
        return ClassPlan(name, grouping, plan_split(sizes, ratios, seed=derive_seed(seed, name)))
    previous = []
    for group in grouping.groups:
        was: dict[int, int] = {}
        if (split := old.groups.get(f"{name}/{group.key}")) is not None:
            was[split] = 0
        for f in group.files:
            if (split := old.files.get(f"{name}/{f.name}")) is not None:
                was[split] = was.get(split, 0) + 1
        previous.append(was)
    kept = plan_kept_split(sizes, previous, ratios, seed=derive_seed(seed, name))
    return ClassPlan(name, grouping, kept.plan, kept)


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
                         SPLITS[split], f"{name}/{group.key}"))
    rows.sort()
    return rows


