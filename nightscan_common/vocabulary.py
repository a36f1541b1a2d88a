"""The words every floor shares: the splits, step 3's jobs and failures, a recording's windows, plain()."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath
from typing import Any

#: The index's splits, in the order every table and ratio list follows.
SPLITS = ("train", "val", "test")


@dataclass(frozen=True, order=True, kw_only=True)
class Job:
    """One spectrogram to make: ``key`` names it in any store, ``source`` is pool-relative.

    ``key`` is ``<split>/<class_name>/<stem of source>``; jobs sort by it (the row order).
    """

    key: str
    source: str
    split: str
    source_id: str = ""  # the source file's identity when planned (size:mtime_ns:inode)


@dataclass(frozen=True, order=True)
class Failure:
    """An index row that gave no spectrogram, and why."""

    path: str
    reason: str
    split: str = ""


def job_key(split: str, class_name: str, file_path: str) -> str:
    """``<split>/<class_name>/<stem of file_path>``: the file name without its last extension.

    ``Path.stem``'s rules, since that is how NightScan's loader builds the name
    (``a.`` keeps its dot, ``.hidden`` has no extension).
    """
    return f"{split}/{class_name}/{PurePosixPath(file_path).stem}"


@dataclass(frozen=True)
class Window:
    """One window of a recording: its number (from 0), first frame and length, in native frames."""

    index: int
    offset: int
    frames: int


def plain(value: Any) -> Any:
    """A report's value as JSON-ready data: dataclasses as dicts, paths as text, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
