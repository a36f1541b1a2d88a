"""The summary of what the tables gave (from ``annotations.json``): per table its rows and their
fate, per class its events, clips and recordings."""

from __future__ import annotations

from typing import Any

from ..annotations.records import SHOWN_FATES
from ..cli import format_table


def annotation_table(record: dict[str, Any]) -> str:
    """Two tables: rows read per table and what became of them; events, clips, recordings per class."""
    fates = [f for f in SHOWN_FATES if any(t["fates"].get(f) for t in record["tables"])]
    rows = [[t["table"], t["format"], t["rows"], *(t["fates"].get(f, 0) for f in fates)]
            for t in record["tables"]]
    lines = ["tables:", format_table(["table", "format", "rows", *fates], rows), "", "classes:",
             format_table(["class", "events", "clips", "kept", "recordings"],
                          [[c, e["events"], e["clips"], e["kept"], e["recordings"]]
                           for c, e in record["classes"].items()])]
    return "\n".join(lines)
