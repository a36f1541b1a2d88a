"""Raven selection tables, BirdNET's selection tables among them (tab-separated, one row per view).

The Spectrogram and Waveform rows of one ``Selection`` are one event (the spectrogram
row is kept; the others are counted as view duplicates). Multi-file tables (``Begin
File`` or ``Begin Path`` with ``File Offset (s)``) give each event in its own file; a
selection whose ``End File`` differs from its ``Begin File`` is a bad row. BirdNET's
tables (a ``Confidence`` and ``Common Name`` column) are detector output; their label is
``Scientific Name`` when present, else ``Common Name``.
"""

from __future__ import annotations

from .records import RowProblem, TableError, TableRead
from .rows import make_event, split
from .text import Header, rows

FORMAT = "raven"
BEGIN, END = "Begin Time (s)", "End Time (s)"
#: User annotation columns a hand-made table may carry its label in.
LABEL_COLUMNS = ("Species", "Annotation", "Label", "Class", "Tags")
LOW, HIGH = ("Low Freq (Hz)", "Low Frequency (Hz)"), ("High Freq (Hz)", "High Frequency (Hz)")


def matches(header: Header) -> bool:
    return header.has(BEGIN, END)


def label_column(header: Header, given: str | None) -> str:
    """The column holding the label: ``given``, BirdNET's, or the one annotation column present."""
    if given is not None:
        if not header.has(given):
            raise TableError(f"has no column {given!r} (--label-column); its columns: "
                             f"{', '.join(header.names)}")
        return header.first(given)
    if is_birdnet(header):
        return header.first("Scientific Name", "Common Name")
    found = [header.first(n) for n in LABEL_COLUMNS if header.has(n)]
    if not found:
        raise TableError(f"has no label column ({', '.join(LABEL_COLUMNS)}); give --label-column NAME "
                         f"(its columns: {', '.join(header.names)})")
    if len(found) > 1:
        raise TableError(f"has several label columns ({', '.join(found)}); "
                         "choose one with --label-column NAME")
    return found[0]


def is_birdnet(header: Header) -> bool:
    return header.has("Confidence") and header.has("Common Name")


def read(table: str, text: str, *, label: str | None = None) -> TableRead:
    """Every selection of a Raven table, one event each (see the module's note)."""
    lines = rows(text, "\t")
    header = Header(lines[0][1]) if lines else Header([])
    column = label_column(header, label) if lines else None
    multi = header.first("File Offset (s)") if header.has("Begin File") or header.has("Begin Path") else None
    path_col = header.first("Begin Path", "Begin File") if multi else None
    end_col = header.first("End Path", "End File") if multi else None
    seen: dict[tuple[str, str], int] = {}
    kept: dict[int, tuple[int, list[str]]] = {}
    duplicates = 0
    for i, (line, fields) in enumerate(lines[1:]):
        sel = header.get(fields, "Selection")
        if not sel:  # a hand-made table without Selection numbers: every row is a selection
            kept[i] = (line, fields)
            continue
        key = (sel, header.get(fields, "Channel") or "")
        spectrogram = (header.get(fields, "View") or "").lower().startswith("spectrogram")
        if key not in seen:
            seen[key] = i
            kept[i] = (line, fields)
        else:
            duplicates += 1
            first = seen[key]
            first_spectro = (header.get(kept[first][1], "View") or "").lower().startswith("spectrogram")
            if spectrogram and not first_spectro:  # the spectrogram row measures the box
                kept[first] = (line, fields)
    items = []
    for line, fields in (kept[i] for i in sorted(kept)):
        get = header.get
        begin_path, end_path = get(fields, path_col), get(fields, end_col)
        if multi and end_path and begin_path and end_path != begin_path:
            items.append(RowProblem(table=table, line=line,
                                    reason=f"the selection begins in {begin_path} and ends in "
                                                 f"{end_path}; "
                                                 "split it at the file boundary"))
            continue
        items.append(make_event(table, line, label=get(fields, column) or "", start=get(fields, BEGIN),
                                end=get(fields, END), low=get(fields, header.first(*LOW)),
                                high=get(fields, header.first(*HIGH)),
                                confidence=get(fields, header.first("Confidence")),
                                channel=get(fields, header.first("Channel")), recording=begin_path,
                                file_offset=get(fields, multi)))
    events, problems = split(items)
    return TableRead(table=table, format=FORMAT, events=events, rows=len(lines) - 1 if lines else 0,
                     has_confidence=header.has("Confidence"), detector=is_birdnet(header),
                     counts={"view duplicate": duplicates} if duplicates else {}, problems=problems)
