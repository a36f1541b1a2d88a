"""Long recordings cut into windows (``--segment SECONDS [--hop SECONDS]``): where each window lies.

Pure arithmetic on frame counts. A recording longer than the segment gives one window
every ``hop`` seconds, each exactly ``segment`` long; when the windows do not end on
the recording's last frame, one more window ends there, so nothing is lost and every
window has one length (a 60 s recording with an 8 s segment: 0, 8, ... 48 and 52 s).
A recording no longer than the segment stays one original, as without the option.
"""

from __future__ import annotations

import posixpath

from ..errors import UsageError
from ..vocabulary import Window


def check_segment(segment: float | None, hop: float | None) -> None:
    """``UsageError`` repeating a bad value: both must be positive; a hop needs a segment."""
    if hop is not None and segment is None:
        raise UsageError(f"--hop {hop:g} needs --segment SECONDS (the window it moves)")
    for name, value in (("--segment", segment), ("--hop", hop)):
        if value is not None and not value > 0:
            raise UsageError(f"{name} must be above 0 seconds, got {value:g}")


def window_offsets(total_frames: int, samplerate: int, *, segment: float,
                   hop: float | None = None) -> list[Window]:
    """The windows of a recording of ``total_frames`` frames; [] when it fits in one segment."""
    length = max(1, round(segment * samplerate))
    step = max(1, round((hop if hop is not None else segment) * samplerate))
    if total_frames <= length:
        return []
    offsets = list(range(0, total_frames - length + 1, step))
    if offsets[-1] + length < total_frames:
        offsets.append(total_frames - length)
    return [Window(i, off, length) for i, off in enumerate(offsets)]


def window_unit(source: str, window: Window, count: int) -> str:
    """The path a window stands for in the plan: ``night1/rec_w003.wav`` for ``night1/rec.wav``.

    The plan names and seeds originals by this path, so each window gets its own stem
    and seeds; the number has as many digits as the recording's last window needs.
    """
    base, ext = posixpath.splitext(source)
    width = max(3, len(str(count - 1)))
    return f"{base}_w{window.index:0{width}d}{ext}"
