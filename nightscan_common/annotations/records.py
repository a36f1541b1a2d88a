"""The typed records every table reader yields: one ``Event`` per row kept, a ``TableRead`` per table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: What became of a table's rows, in the order the summary shows them.
FATES = ("used", "merged", "below confidence", "blank", "nocall", "unknown", "ignored",
         "multi-label dropped", "capped", "view duplicate", "out of range", "point event", "bad row")
#: The fate of a row whose recording is missing, left out by the gate, or failed to decode.
NO_RECORDING = "recording left out"
#: Every fate a table's row can have, in the order summaries show them.
SHOWN_FATES = (*FATES, NO_RECORDING)
#: What step 1 read from the tables, beside ``pool_metadata.json`` (the report reads it too).
ANNOTATIONS_FILENAME = "annotations.json"


class TableError(ValueError):
    """A table that cannot be read as a whole (unknown header, no label column...): the reason alone."""


@dataclass(frozen=True, kw_only=True)
class Event:
    """One row of a table: where it lies (seconds of the recording), what it says, where it was read.

    ``table`` is the table's path relative to its annotation folder, ``line`` the
    1-based line of the row in it (a selection's first view kept). ``recording`` is the
    path a path column gives (as written), None when the table names no recording.
    """

    table: str
    line: int
    label: str
    start: float
    end: float
    low_freq: float | None = None
    high_freq: float | None = None
    confidence: float | None = None
    channel: int | None = None
    recording: str | None = None

    @property
    def where(self) -> str:
        """``owl/night1.Table.1.selections.txt:7``: how messages name the row."""
        return f"{self.table}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        """Fields that are set, for ``pool_metadata.json`` and ``annotations.json``."""
        out = {"table": self.table, "line": self.line, "label": self.label, "start": self.start,
               "end": self.end}
        for key in ("low_freq", "high_freq", "confidence", "channel"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


@dataclass(frozen=True, kw_only=True)
class RowProblem:
    """A row left out because it is wrong (``bad row``) or a point event: named by table and line."""

    table: str
    line: int
    reason: str
    fate: str = "bad row"

    @property
    def where(self) -> str:
        return f"{self.table}:{self.line}"


@dataclass(frozen=True, kw_only=True)
class TableRead:
    """What one table holds: its events (rows kept, in file order) and the rows already left out."""

    table: str
    format: str
    events: tuple[Event, ...]
    rows: int  # data rows read (view duplicates included)
    has_confidence: bool
    detector: bool  # written by a detector (BirdNET, Kaleidoscope's auto IDs): never exhaustive
    counts: dict[str, int] = field(default_factory=dict)  # fate -> rows, for fates decided on reading
    problems: tuple[RowProblem, ...] = ()
    encoding: str = "utf-8"
