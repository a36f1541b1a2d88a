"""The plain CSV: ``path,start,end,label[,confidence]`` with that header (any case), seconds.

``path`` is the recording relative to ``--audio-root`` (or any path whose tail is); a
table of this kind says nothing of how it was made, so it is exhaustive only when
declared so.
"""

from __future__ import annotations

from .records import TableError, TableRead
from .rows import make_event, split
from .text import Header, rows

FORMAT = "csv"
COLUMNS = ("path", "start", "end")


def matches(header: Header) -> bool:
    return header.has(*COLUMNS)


def read(table: str, text: str, *, label: str | None = None) -> TableRead:
    """Every row, one event each."""
    lines = rows(text, ",")
    header = Header(lines[0][1])
    column = label or "label"
    if not header.has(column):
        raise TableError(f"has no label column {column!r}; give --label-column NAME "
                         f"(its columns: {', '.join(header.names)})")
    get = header.get
    items = [make_event(table, line, label=get(f, column), start=get(f, "start"), end=get(f, "end"),
                        confidence=get(f, header.first("confidence")),
                        channel=get(f, header.first("channel")),
                        recording=get(f, "path"))
             for line, f in lines[1:]]
    events, problems = split(items)
    return TableRead(table=table, format=FORMAT, events=events, rows=len(items),
                     has_confidence=header.has("confidence"),
                     detector=False, problems=problems)
