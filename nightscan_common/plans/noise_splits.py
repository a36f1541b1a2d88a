"""Noise from the right split (pure): no val or test sample mixed with a recording of another split.

With ``--background-noise-class``, step 1 mixes all the background noise of one original
with one recording of the noise class, and records which (``PoolFile.noise``). The
classes are split as usual; then every val or test group that holds a file mixed with a
recording of another split trades places with a train group of its class of the same
size whose noise, if any, comes from that val or test split (the counts stay exact).
A group that holds other classes too never trades places (the others would be split
from it). When no such train group exists, or the group holds other classes, the
group's offending files are left out of the index.
Either way, the guarantee holds: no val or test row was mixed with noise from a
recording of another split. The noise class's own originals are mixed with themselves,
so they never conflict, and the splits of the noise recordings never move.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..plans.grouping import Group
from ..vocabulary import SPLITS
from .index_plan import ClassPlan

TRAIN = SPLITS.index("train")


@dataclass(frozen=True)
class NoiseFix:
    """What keeping noise within its split took."""

    swapped: int  # val or test groups that traded places with a train group
    left_out: frozenset[str]  # "<class>/<file>" of val or test files left out of the index
    train_mixed_with_eval: int  # train files mixed with a val or test recording (allowed)


def recording_splits(plans: Sequence[ClassPlan]) -> dict[str, int]:
    """The split of every original's recording, ``"<class>/<source>"`` -> index in ``SPLITS``."""
    where: dict[str, int] = {}
    for cp in plans:
        for group, split in zip(cp.grouping.groups, cp.plan.assignment, strict=True):
            for f in group.files:
                if not f.is_augmented:
                    where[f"{cp.name}/{f.source}"] = split
    return where


def _foreign(group: Group, split: int, where: Mapping[str, int]) -> list[str]:
    """Files of ``group`` mixed with a recording whose split is not ``split``.

    A noise recording that is not in the index (a subsampled original) is in no split.
    """
    return [f.name for f in group.files if f.noise is not None and where.get(f.noise, split) != split]


def keep_noise_in_split(plans: Sequence[ClassPlan]) -> tuple[list[ClassPlan], NoiseFix]:
    """The plans with every val or test group's noise from its own split (see the module)."""
    if not any(f.noise for cp in plans for g in cp.grouping.groups for f in g.files):
        return list(plans), NoiseFix(0, frozenset(), 0)
    where = recording_splits(plans)
    swapped, left_out, fixed = 0, set(), []
    for cp in plans:
        groups = cp.grouping.groups
        assignment = list(cp.plan.assignment)
        for i, group in enumerate(groups):
            split = assignment[i]
            if split == TRAIN or not (bad := _foreign(group, split, where)):
                continue
            shared = cp.grouping.shared  # a group of several classes moves for all or none: never here
            partner = None if group.key in shared else next(
                (j for j, other in enumerate(groups) if assignment[j] == TRAIN and other.key not in shared
                 and len(other.files) == len(group.files) and not _foreign(other, split, where)), None)
            if partner is None:
                left_out.update(f"{cp.name}/{name}" for name in bad)
                continue
            assignment[i], assignment[partner] = TRAIN, split
            swapped += 1
        plan = dataclasses.replace(cp.plan, assignment=tuple(assignment))
        fixed.append(dataclasses.replace(cp, plan=plan))
    mixed = sum(len(_foreign(g, TRAIN, where)) for cp in fixed
                for g, s in zip(cp.grouping.groups, cp.plan.assignment, strict=True) if s == TRAIN)
    return fixed, NoiseFix(swapped, frozenset(left_out), mixed)
