"""What every step's options share: run control marked apart, content derived from the fields."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from typing import Any

#: Field metadata of an option that controls a run, not what it makes (a rerun need not match it).
RUN = {"run": True}


def content_items(options: Any) -> Iterator[tuple[str, Any, dict]]:
    """(name, value, metadata) of every content field of a dataclass of options, in field order.

    What a rerun must match is derived from here, so that an option added to the
    dataclass is in the recorded identity without being listed a second time.
    """
    for f in fields(options):
        if not f.metadata.get("run"):
            yield f.name, getattr(options, f.name), f.metadata
