"""Kaleidoscope CSVs (Kaleidoscope Pro's ``id.csv``, BirdNET's kaleidoscope output): one row per
detection or bat pass, the recording at ``FOLDER/IN FILE``, the event at [OFFSET, OFFSET + DURATION].

The label is ``MANUAL ID`` when the row has one (vetted), else ``AUTO ID`` (any
``AUTO ID*`` spelling), else BirdNET's ``scientific_name`` or ``TOP1MATCH``. An
automatic ``NoID`` counts as no call. ``CHANNEL`` counts from 0 (Raven's from 1). A
table any of whose labels is automatic is detector output (never exhaustive).
"""

from __future__ import annotations

from .records import TableError, TableRead
from .rows import make_event, split
from .text import Header, number, rows

FORMAT = "kaleidoscope"
NO_ID = "noid"


def matches(header: Header) -> bool:
    return header.has("IN FILE", "OFFSET", "DURATION")


def auto_column(header: Header) -> str | None:
    auto = [n for n in header.names if n.strip().upper().startswith("AUTO ID")]
    return auto[0] if auto else header.first("scientific_name", "TOP1MATCH")


def read(table: str, text: str, *, label: str | None = None) -> TableRead:
    """Every row, the event from OFFSET for DURATION seconds."""
    lines = rows(text, ",")
    header = Header(lines[0][1])
    if label is not None and not header.has(label):
        raise TableError(f"has no column {label!r} (--label-column); its columns: {', '.join(header.names)}")
    manual, auto = header.first("MANUAL ID"), auto_column(header)
    if label is None and manual is None and auto is None:
        raise TableError("has neither MANUAL ID nor AUTO ID; give --label-column NAME")
    get, items, automatic = header.get, [], False
    for line, f in lines[1:]:
        if label is not None:
            text_label = get(f, label)
        elif get(f, manual):
            text_label = get(f, manual)
        else:
            text_label = get(f, auto) or ""
            automatic = True
            text_label = "nocall" if text_label.lower() == NO_ID else text_label
        folder = (get(f, "FOLDER") or "").replace("\\", "/").strip("/")
        name = get(f, "IN FILE") or ""
        recording = f"{folder}/{name}" if folder not in ("", ".") else name
        try:
            end = str(number(get(f, "OFFSET"), what="OFFSET") + number(get(f, "DURATION"), what="DURATION"))
        except ValueError:
            end = get(f, "DURATION") or ""
        items.append(make_event(table, line, label=text_label, start=get(f, "OFFSET"), end=end,
                                confidence=get(f, header.first("confidence")),
                                channel=_one_based(get(f, header.first("CHANNEL"))), recording=recording))
    events, problems = split(items)
    return TableRead(table=table, format=FORMAT, events=events, rows=len(items),
                     has_confidence=header.has("confidence"),
                     detector=automatic, problems=problems)


def _one_based(channel: str | None) -> str | None:
    """Kaleidoscope's channel 0 is Raven's channel 1; anything else is left for the row check."""
    return str(int(channel) + 1) if channel and channel.isdigit() else channel
