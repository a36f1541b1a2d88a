"""From raw labels to classes: ``--label-map FILE`` (CSV ``label,class``; class ``ignore`` drops),
blank labels and BirdNET's ``nocall`` left out, labels the map lacks refused or ignored."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

from ..errors import UsageError
from .records import TableError
from .text import read_text

IGNORE = "ignore"
#: Labels that say "nothing here" (BirdNET's, any case): left out and counted.
NO_CALL = frozenset({"nocall", "no call", "no_call"})


def read_label_map(path: Path) -> dict[str, str]:
    """``label -> class`` from a CSV of two columns (a ``label,class`` header is optional)."""
    try:
        text, _ = read_text(path)
    except TableError as exc:
        raise UsageError(f"--label-map {path} {exc}") from None
    mapping: dict[str, str] = {}
    for line, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")), start=1):
        if not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            raise UsageError(f"--label-map {path}:{line}: expected label,class, got {row!r}")
        label, cls = row[0].strip(), row[1].strip()
        if line == 1 and (label.lower(), cls.lower()) == ("label", "class"):
            continue
        if label in mapping and mapping[label] != cls:
            raise UsageError(f"--label-map {path}:{line}: {label!r} is mapped twice "
                             f"({mapping[label]!r}, {cls!r})")
        check_class_name(cls, where=f"--label-map {path}:{line}")
        mapping[label] = cls
    return mapping


def check_class_name(name: str, *, where: str) -> None:
    """A class becomes a folder of the pool: no path separator, not empty, not hidden."""
    if not name or "/" in name or "\\" in name or name.startswith(".") or name != name.strip():
        raise UsageError(f"{where}: {name!r} cannot be a class (a folder name); map it with --label-map")


def classify(label: str, mapping: dict[str, str] | None) -> tuple[str | None, str]:
    """(class, fate) of one raw label: fate ``used`` with its class; ``blank``, ``nocall``,
    ``ignored`` (the map says ``ignore``) or ``unknown`` (not in the map) with None."""
    if not label.strip():
        return None, "blank"
    if label.strip().lower() in NO_CALL:
        return None, "nocall"
    if mapping is None:
        return label, "used"
    if label not in mapping:
        return None, "unknown"
    cls = mapping[label]
    return (None, "ignored") if cls == IGNORE else (cls, "used")


def refuse_unknown(unknown: Counter, path: Path) -> None:
    """``UsageError`` naming each label the map lacks, and its count (unless ``--unknown-labels ignore``)."""
    if unknown:
        listed = ", ".join(f"{label!r} ({n})" for label, n in sorted(unknown.items()))
        raise UsageError(f"{len(unknown)} label(s) not in --label-map {path}: {listed}; add them "
                         "(class 'ignore' drops one) or pass --unknown-labels ignore")
