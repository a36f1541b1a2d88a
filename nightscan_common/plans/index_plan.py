"""Step 2's plan (pure): a class's groups, the split of each, and the index rows they give."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..formats.index_db import SPLITS
from ..formats.pool_reader import PoolFile
from .grouping import Grouping, group_class
from .seeds import derive_seed
from .split_plan import SplitPlan, plan_split

TRAIN = SPLITS.index("train")


@dataclass(frozen=True)
class ClassPlan:
    """One class's groups and where they go."""

    name: str
    grouping: Grouping
    plan: SplitPlan


def plan_class(name: str, files: Iterable[PoolFile], *, ratios: tuple[float, ...], seed: int,
               pattern: re.Pattern[str] | None = None, content: Mapping[str, str] | None = None,
               ) -> ClassPlan:
    """Group one class and plan its split, with a seed derived from the run's and the class's.

    A seed per class means that adding or removing a class leaves the others' splits as
    they were. ``content``: see ``group_class``.
    """
    grouping = group_class(files, pattern=pattern, content=content)
    sizes = [len(g.files) for g in grouping.groups]
    return ClassPlan(name, grouping, plan_split(sizes, ratios, seed=derive_seed(seed, name)))


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


