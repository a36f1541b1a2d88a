"""Step 1's resume journal: one JSON line per finished original, the run's options and inputs first.

The parent alone appends to it; a torn last line (a killed run) is ignored. With the
metadata of a finished pool, it says which originals need no work on a rerun.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from ..io.atomic_write import json_text, write_bytes
from ..io.bounded_json import read_lines
from .pool_metadata import BadEntry, FileRecord, class_entries

JOURNAL_FILENAME = ".pool_progress.jsonl"


def start_journal(path: Path, params: dict[str, Any], inputs: dict[str, Any],
                  entries: Iterable[tuple[str, str, list[FileRecord]]] = ()) -> None:
    """A new journal (atomically): the header, then the finished originals still valid."""
    lines = [json_text({"params": params, "inputs": inputs}, indent=None) + "\n"]
    lines += [_line(c, s, r) for c, s, r in entries]
    write_bytes(path, "".join(lines).encode("utf-8"))


def _line(class_name: str, source: str, records: list[FileRecord]) -> str:
    return json_text({"class": class_name, "source": source, "files": [r.to_dict() for r in records]},
                     indent=None) + "\n"


def write_done(fh: IO[str], class_name: str, source: str, records: list[FileRecord]) -> None:
    """One finished original, flushed at once: the line is the proof its files are in place.

    ``source`` is the task's key (``unit_key``: the source, and a window's offset).
    """
    fh.write(_line(class_name, source, records))
    fh.flush()


def read_journal(path: Path) -> tuple[dict | None, dict, dict[tuple[str, str], list]]:
    """The journal's params, inputs and finished tasks; a torn last line is ignored."""
    params, inputs, done = None, {}, {}
    lines = read_lines(path, remedy="remove it (its originals are then redone) and rerun")
    for line in lines or ():
        try:  # a torn or altered line proves nothing: its original is redone
            entry = json.loads(line)
            if "params" in entry:
                params, inputs = entry["params"], entry.get("inputs") or {}
            elif "class" in entry:
                records = [FileRecord.from_dict(f) for f in entry["files"]]
                done[(entry["class"], entry["source"])] = records
        except (ValueError, BadEntry, KeyError, TypeError):
            continue
    return params, inputs, done


def done_from_metadata(meta: dict, pool_dir: Path) -> dict[tuple[str, str], list[FileRecord]]:
    """The finished originals of a pool's metadata; ``UsageError`` naming a malformed field."""
    done: dict[tuple[str, str], list[FileRecord]] = {}
    for cls, entry in class_entries(meta, pool_dir).items():
        for record in entry.files:
            done.setdefault((cls, record.key), []).append(record)
    return done
