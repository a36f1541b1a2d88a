"""Audacity label tracks: ``start<TAB>end[<TAB>label[<TAB>confidence]]``, no header, seconds.

A line ``\\<TAB>low<TAB>high`` after a label carries that label's frequency range (a
negative value means undefined); only some labels have one. A label whose start equals
its end is a point label. BirdNET's variant adds a fourth column, the confidence.
"""

from __future__ import annotations

from .records import Event, RowProblem, TableRead
from .rows import make_event, split
from .text import number, rows

FORMAT = "audacity"


def matches(first: list[str]) -> bool:
    """A first line of two numbers (and a label), or a frequency line."""
    if first and first[0] == "\\":
        return True
    try:
        number(first[0], what="start")
        number(first[1], what="end")
    except (ValueError, IndexError):
        return False
    return True


def read(table: str, text: str, *, label: str | None = None) -> TableRead:
    """Every label of the track, with the frequency line that follows it, if any."""
    items: list[Event | RowProblem] = []
    has_confidence = False
    for line, fields in rows(text, "\t"):
        if fields[0] == "\\":
            prev = items[-1] if items else None
            if not isinstance(prev, Event) or len(fields) < 3:
                items.append(RowProblem(table=table, line=line,
                                        reason="a frequency line (\\) that follows no label"))
                continue
            low = make_event(table, line, label="", start="0", end="0", low=fields[1], high=fields[2])
            if isinstance(low, RowProblem):
                items.append(low)
                continue
            items[-1] = Event(table=prev.table, line=prev.line, label=prev.label, start=prev.start,
                              end=prev.end, low_freq=low.low_freq, high_freq=low.high_freq,
                              confidence=prev.confidence, channel=prev.channel, recording=prev.recording)
            continue
        if len(fields) < 2:
            items.append(RowProblem(table=table, line=line,
                                    reason=f"expected start<TAB>end<TAB>label, got {fields!r}"))
            continue
        has_confidence |= len(fields) > 3
        items.append(make_event(table, line, label=fields[2] if len(fields) > 2 else "", start=fields[0],
                                end=fields[1], confidence=fields[3] if len(fields) > 3 else None))
    events, problems = split(items)
    return TableRead(table=table, format=FORMAT, events=events, rows=len(events) + len(problems),
                     has_confidence=has_confidence, detector=has_confidence, problems=problems)
