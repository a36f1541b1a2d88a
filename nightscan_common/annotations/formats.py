"""Which reader a table needs, from its header (``--annotation-format`` forces one), and reading it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from . import audacity, birdnet_csv, kaleidoscope, plain_csv, raven
from .records import TableError, TableRead
from .text import Header, delimiter_of, first_line, read_text, rows

READERS = {raven.FORMAT: raven, birdnet_csv.FORMAT: birdnet_csv, audacity.FORMAT: audacity,
           kaleidoscope.FORMAT: kaleidoscope, plain_csv.FORMAT: plain_csv}
#: ``--annotation-format`` choices: ``auto`` reads the header.
FORMAT_CHOICES = ("auto", *READERS)
#: The suffixes a table's name may end with, longest first: removed to find its recording.
TABLE_SUFFIXES = (".BirdNET.selection.table.txt", ".BirdNET.results.csv", ".Table.1.selections.txt",
                  ".selections.txt", ".txt", ".csv", ".tsv")


def detect(text: str) -> str:
    """The format of a table from its first line; ``TableError`` when no reader knows it."""
    line = first_line(text)
    if not line:
        return audacity.FORMAT  # an empty label track: a reviewed recording without events
    fields = rows(line, delimiter_of(line))[0][1] if line.strip() else []
    if audacity.matches(rows(line, "\t")[0][1]):
        return audacity.FORMAT
    header = Header(fields)
    for reader in (raven, kaleidoscope, birdnet_csv, plain_csv):
        if reader.matches(header):
            return reader.FORMAT
    raise TableError(f"has an unknown header ({line[:120]!r}): not a Raven selection table, BirdNET result, "
                     "Audacity label track, Kaleidoscope CSV or path,start,end,label CSV "
                     "(--annotation-format forces one)")


def read_table(path: Path, name: str, *, fmt: str = "auto", label: str | None = None) -> TableRead:
    """Read the table at ``path`` (named ``name`` in messages); ``TableError`` when it cannot be."""
    text, encoding = read_text(path)
    chosen = detect(text) if fmt == "auto" else fmt
    if not first_line(text):
        return TableRead(table=name, format=chosen, events=(), rows=0, has_confidence=False, detector=False,
                         encoding=encoding)
    if chosen != audacity.FORMAT and "\t" not in first_line(text) and chosen == raven.FORMAT:
        raise TableError("is not tab-separated, as Raven writes its tables")
    try:
        table = READERS[chosen].read(name, text, label=label)
    except (KeyError, TypeError, IndexError) as exc:  # a forced format that does not fit the header
        raise TableError(f"cannot be read as {chosen} ({type(exc).__name__}: {exc}); "
                         "check --annotation-format"
                         ) from None
    return replace(table, encoding=encoding)
