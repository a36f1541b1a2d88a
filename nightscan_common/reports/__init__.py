"""What the steps report: tables for people (``tables``), plain dictionaries for machines."""

from __future__ import annotations

import dataclasses
from pathlib import PurePath
from typing import Any


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
