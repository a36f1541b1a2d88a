"""The choices of step 1's annotation options (``--annotations`` mode); checked in ``pool_options``."""

from __future__ import annotations

MULTI_LABEL = ("drop", "keep")
UNKNOWN_LABELS = ("error", "ignore")
POINT_EVENTS = ("drop", "centre")
TABLE_TIMES = ("expanded", "real")
