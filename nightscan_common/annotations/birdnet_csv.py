"""BirdNET result CSVs, as BirdNET wrote them over time, and NightScan's 5-column variant.

- today: ``Start (s),End (s),Scientific name,Common name,Confidence,File`` (and optional
  ``lat, lon, week, overlap, sensitivity, min_conf, species_list, model``);
- NightScan's detector: the same without ``File`` (the recording is the table's own);
- the ``r`` type removed in BirdNET 2.0: ``filepath,start,end,scientific_name,common_name,confidence,...``.

The label is the scientific name unless ``--label-column`` says otherwise; these are
detector output (never exhaustive).
"""

from __future__ import annotations

from .records import TableError, TableRead
from .rows import make_event, split
from .text import Header, rows

FORMAT = "birdnet-csv"
#: (start, end, default label, path) columns of each generation.
LAYOUTS = (("Start (s)", "End (s)", "Scientific name", "File"),
           ("start", "end", "scientific_name", "filepath"))


def layout(header: Header) -> tuple[str, str, str, str] | None:
    for cols in LAYOUTS:
        if header.has(cols[0], cols[1]) and header.has(cols[2]) and header.has("Confidence"):
            return cols
    return None


def matches(header: Header) -> bool:
    return layout(header) is not None


def read(table: str, text: str, *, label: str | None = None) -> TableRead:
    """Every detection of the CSV, one event each."""
    lines = rows(text, ",")
    header = Header(lines[0][1])
    start, end, default, path = layout(header)
    column = label or default
    if not header.has(column):
        raise TableError(f"has no column {column!r} (--label-column); its columns: {', '.join(header.names)}")
    get = header.get
    items = [make_event(table, line, label=get(f, column), start=get(f, start), end=get(f, end),
                        confidence=get(f, "Confidence"), recording=get(f, path))
             for line, f in lines[1:]]
    events, problems = split(items)
    return TableRead(table=table, format=FORMAT, events=events, rows=len(items), has_confidence=True,
                     detector=True, problems=problems)
