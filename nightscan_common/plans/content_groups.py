"""What groups of content duplicates mean for a pool: one original per class, cross-class names.

Pure functions of ``group_duplicates``' result over names ``"<class>/<path>"``: within a
class, a group is one recording, so one copy is kept (the first name) and the others are
listed as its duplicates; a group that spans classes is a labelling question that only
the user can settle, so it is reported with every name.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def class_of(name: str) -> str:
    """``"owl/site1/a.wav"`` -> ``"owl"``."""
    return name.split("/", 1)[0]


@dataclass(frozen=True)
class DuplicatePlan:
    """What to do with the copies that ``group_duplicates`` found."""

    #: every grouped name -> its group's first name within the same class: one group key
    group_of: dict[str, str] = field(default_factory=dict)
    #: a copy left out -> the name kept in its place (empty with keep_duplicates)
    duplicate_of: dict[str, str] = field(default_factory=dict)
    #: groups whose names lie in two classes or more, each sorted
    cross_class: list[list[str]] = field(default_factory=list)


def plan_duplicates(groups: list[list[str]], *, keep_duplicates: bool = False) -> DuplicatePlan:
    """Split each group by class; keep its first name per class unless ``keep_duplicates``."""
    plan = DuplicatePlan()
    for group in groups:
        by_class: dict[str, list[str]] = {}
        for name in sorted(group):
            by_class.setdefault(class_of(name), []).append(name)
        if len(by_class) > 1:
            plan.cross_class.append(sorted(group))
        for members in by_class.values():
            for name in members:
                plan.group_of[name] = members[0]
                if name != members[0] and not keep_duplicates:
                    plan.duplicate_of[name] = members[0]
    plan.cross_class.sort()
    return plan
