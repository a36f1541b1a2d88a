"""What every reader does with one row: check its times, and make an ``Event`` or a ``RowProblem``."""

from __future__ import annotations

from .records import Event, RowProblem
from .text import number, optional_number


def make_event(table: str, line: int, *, label: str, start: str, end: str, low: str | None = None,
               high: str | None = None, confidence: str | None = None, channel: str | None = None,
               recording: str | None = None, file_offset: str | None = None) -> Event | RowProblem:
    """The row as an ``Event``; a ``RowProblem`` naming the bad field when a time is not a
    finite number, is negative, or ends before it begins. With ``file_offset`` (a
    multi-file table's ``File Offset (s)``) the event starts there in its own file and
    lasts end - begin; a begin equal to the end is a point event, kept."""
    try:
        t0, t1 = number(start, what="begin time"), number(end, what="end time")
        if t0 < 0 or t1 < 0:
            raise ValueError(f"negative time ({start} to {end} s)")
        if t1 < t0:
            raise ValueError(f"ends before it begins ({start} to {end} s)")
        lo, hi = optional_number(low, what="low frequency"), optional_number(high, what="high frequency")
        lo = None if lo is not None and lo < 0 else lo  # Audacity writes -1 for "undefined"
        hi = None if hi is not None and hi < 0 else hi
        conf = optional_number(confidence, what="confidence")
        ch = None if not channel else int(number(channel, what="channel"))
        if file_offset:
            within = number(file_offset, what="file offset")
            t0, t1 = within, within + t1 - t0
            if t0 < 0:
                raise ValueError(f"negative file offset ({file_offset} s)")
    except ValueError as exc:
        return RowProblem(table=table, line=line, reason=str(exc))
    if ch is not None and ch < 1:
        return RowProblem(table=table, line=line, reason=f"channel {channel} (channels are numbered from 1)")
    return Event(table=table, line=line, label=label.strip(), start=t0, end=t1, low_freq=lo, high_freq=hi,
                 confidence=conf, channel=ch, recording=recording or None)


def split(items: list[Event | RowProblem]) -> tuple[tuple[Event, ...], tuple[RowProblem, ...]]:
    """The events and the problems of a reader's rows, each in file order."""
    return (tuple(i for i in items if isinstance(i, Event)),
            tuple(i for i in items if isinstance(i, RowProblem)))
