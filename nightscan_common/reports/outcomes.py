"""Why each step's exit status is what it is, in words, from the step's report (the true reason)."""

from __future__ import annotations

import re
from typing import Any


def _count(n: int, what: str) -> str:
    return f"{n} {what}"


def _join(parts: list[str]) -> str:
    return "; ".join(p for p in parts if p)


def pool_why(report: Any) -> str:
    """Step 1's reasons for status 1 (``PoolReport.status``)."""
    parts = [_count(len(report.skipped), "file(s) skipped (unreadable or empty)") if report.skipped else "",
             f"{len(report.empty_classes)} class(es) with no usable audio" if report.empty_classes else "",
             _count(len(report.failed_tasks), "augmentation(s) failed") if report.failed_tasks else "",
             _count(len(report.gated), "original(s) left out by the quality gate") if report.gated else "",
             _count(len(report.cross_class), "recording(s) filed under two classes or more")
             if report.cross_class else "",
             _count(len(report.bad_noise), "noise file(s) left out") if report.bad_noise else ""]
    return _join(parts)


def index_why(report: Any) -> str:
    """Step 2's reasons for status 1 (``IndexReport.status``)."""
    return _join([f"{report.leaking_groups} group(s) in more than one split" if report.leaking_groups else "",
                  _count(len(report.cross_class), "recording(s) filed under two classes or more")
                  if report.cross_class else ""])


def spectrogram_why(report: Any) -> str:
    """Step 3's reasons for status 1 (``SpectrogramReport.status``)."""
    return f"{len(report.failures)} file(s) failed (failures.json)" if report.failures else ""


#: What varies between warnings of one kind: paths (with a "/") and numbers.
_VARYING = re.compile(r"[^\s:;,()'\"=]*/[^\s:;,()'\"=]*|\d+(?:[.,]\d+)*")


def grouped(lines: list[str], *, shown: int = 3) -> list[str]:
    """``lines`` with those of one kind (the same words but for paths and numbers) grouped:
    up to ``shown`` of a kind are kept as they are; more become the first and a count."""
    groups: dict[str, list[str]] = {}
    for line in lines:
        groups.setdefault(_VARYING.sub("#", line), []).append(line)
    out: list[str] = []
    for members in groups.values():
        if len(members) <= shown:
            out += members
        else:
            out.append(f"{members[0]} (and {len(members) - 1} more like it)")
    return out
