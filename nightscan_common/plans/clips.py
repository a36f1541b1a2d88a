"""Events of long recordings -> clips: the pure plan behind step 1's ``--annotations``.

Plain data in, plain data out; no audio is read. Per recording (its length in frames,
its rate and channels, its events each with a class or None for an ignored label):

- times are checked: an event starting past the end, or ending more than one frame
  past it, is out of range; one ending within a frame of it is clamped; a channel the
  recording lacks is a bad row;
- a point event (begin = end) is left out and named, or centred on (``point_events="centre"``);
- events of one class that overlap or touch are merged into one;
- each event gets one clip of ``clip`` frames centred on it, moved inside the recording
  at its edges (never shortened or padded; a recording shorter than a clip is one clip
  of its own length); an event longer than a clip is tiled every ``hop`` frames, the
  last clip ending on the event's end;
- a clip also overlapped by an event of another class is dropped (``multi_label="drop"``)
  or kept with every label (``"keep"``);
- one recording's clips of a class are capped at ``max_per_recording``: one chosen with
  the seed in each of that many equal stretches of the night;
- background clips (``background_class``) tile the stretches of an exhaustive recording
  that are at least one clip away from any event, ignored labels included.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

from ..annotations.records import Event, RowProblem
from ..seeds import derive_seed
from .segments import Window


@dataclass(frozen=True)
class Labelled:
    """An event with its class (None: an ignored label, which only keeps background away)."""

    event: Event
    cls: str | None


@dataclass(frozen=True, kw_only=True)
class RecordingEvents:
    """One recording as the planner needs it: its length, rate, channels and labelled events."""

    recording: str  # relative to --audio-root
    frames: int
    samplerate: int
    channels: int
    events: tuple[Labelled, ...]
    exhaustive: bool = False


@dataclass(frozen=True, kw_only=True)
class ClipOptions:
    """How clips are cut; seconds are those of the recording's own time (see ``time_scale``)."""

    clip: float  # seconds of real time
    hop: float | None = None  # seconds of real time; None: the clip
    multi_label: str = "drop"
    max_per_recording: int | None = None
    background_class: str | None = None
    point_events: str = "drop"
    seed: int = 42
    #: Recording seconds per second of real time (``--time-expansion``); times of clips and hops.
    time_expansion: float = 1.0
    #: Recording seconds per second of the tables (the expansion when tables are in real time).
    table_scale: float = 1.0


@dataclass(frozen=True, kw_only=True)
class Clip:
    """One clip: its recording, class and window (frames of the recording), and the events in it."""

    recording: str
    cls: str
    window: Window
    events: tuple[dict, ...]


@dataclass(frozen=True, kw_only=True)
class ClipPlan:
    """The clips in (recording, class, offset) order, each row's fate, the rows named and the warnings."""

    clips: tuple[Clip, ...]
    fates: dict[tuple[str, int], str] = field(default_factory=dict)  # (table, line) -> fate
    problems: tuple[RowProblem, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Span:
    """An event or merged events of one class, in frames."""

    cls: str
    start: int
    end: int
    rows: tuple[tuple[Labelled, int, int], ...]  # (event, start, end) of each row merged in


def plan_clips(recordings: list[RecordingEvents], opts: ClipOptions) -> ClipPlan:
    """The clips of every recording (see the module's rules)."""
    clips: list[Clip] = []
    fates: dict[tuple[str, int], str] = {}
    problems: list[RowProblem] = []
    warnings: list[str] = []
    for rec in sorted(recordings, key=lambda r: r.recording):
        got, rec_fates, rec_problems, rec_warnings = _plan_recording(rec, opts)
        clips += got
        fates.update(rec_fates)
        problems += rec_problems
        warnings += rec_warnings
    return ClipPlan(clips=tuple(clips), fates=fates, problems=tuple(problems), warnings=tuple(warnings))


def clip_frames(rec: RecordingEvents, opts: ClipOptions) -> tuple[int, int]:
    """(clip, hop) in frames of the recording."""
    length = max(1, round(opts.clip * opts.time_expansion * rec.samplerate))
    hop = opts.hop if opts.hop is not None else opts.clip
    return length, max(1, round(hop * opts.time_expansion * rec.samplerate))


def _in_frames(rec: RecordingEvents, opts: ClipOptions,
               ) -> tuple[list[tuple[Labelled, int, int]], dict, list[RowProblem], list[str]]:
    """Each event's frames, checked against the recording; the rows left out and why."""
    kept, fates, problems, high = [], {}, [], []
    sr, scale = rec.samplerate, opts.table_scale
    for lab in rec.events:
        ev = lab.event
        key = (ev.table, ev.line)
        s, e = round(ev.start * scale * sr), round(ev.end * scale * sr)
        seconds = rec.frames / sr
        if lab.cls is None:  # an ignored, unknown or blank label: it only keeps background away
            kept.append((lab, s, e))
            continue
        if s >= rec.frames or e > rec.frames + 1:
            fates[key] = "out of range"
            problems.append(RowProblem(table=ev.table, line=ev.line,
                                       reason=f"{ev.start:g} to {ev.end:g} s lies past the end "
                                       "of "
                                       f"{rec.recording} ({seconds / scale:g} s)", fate="out of range"))
            continue
        if ev.channel is not None and ev.channel > rec.channels:
            fates[key] = "bad row"
            problems.append(RowProblem(table=ev.table, line=ev.line,
                                       reason=f"channel {ev.channel}, but {rec.recording} has "
                                                         f"{rec.channels}"))
            continue
        if ev.high_freq is not None and ev.high_freq / scale > sr / 2 * (1 + 1e-9):
            high.append(ev.where)
        e = min(e, rec.frames)
        if e == s and opts.point_events != "centre":
            fates[key] = "point event"
            problems.append(RowProblem(table=ev.table, line=ev.line,
                                       reason=f"a point event at {ev.start:g} s (begin = end); "
                                       "--point-events centre centres a clip on it", fate="point event"))
            continue
        kept.append((lab, s, e))
    warnings = []
    if high:
        warnings.append(f"{rec.recording}: High Freq above the recording's Nyquist frequency "
                        f"({sr / 2 / scale:g} Hz) in {len(high)} row(s): {', '.join(high[:10])}"
                        + (" ..." if len(high) > 10 else "") + "; is the time expansion right?")
    return kept, fates, problems, warnings


def _merge(rows: list[tuple[Labelled, int, int]]) -> list[_Span]:
    """Events of one class that overlap or touch, as one span each (in start order)."""
    spans: list[_Span] = []
    for row in sorted(rows, key=lambda r: (r[1], r[2], r[0].event.table, r[0].event.line)):
        lab, s, e = row
        if spans and s <= spans[-1].end:
            last = spans[-1]
            spans[-1] = _Span(cls=last.cls, start=last.start, end=max(last.end, e), rows=(*last.rows, row))
        else:
            spans.append(_Span(cls=lab.cls, start=s, end=e, rows=(row,)))
    return spans


def _offsets(span: _Span, total: int, length: int, hop: int) -> list[int]:
    """The first frames of a span's clips: one centred, or tiles over a long span."""
    if total <= length:
        return [0]
    if span.end - span.start <= length:
        centre = (span.start + span.end) / 2
        return [min(max(0, round(centre - length / 2)), total - length)]
    offs = list(range(span.start, span.end - length + 1, hop))
    if offs[-1] + length < span.end:
        offs.append(span.end - length)
    return [min(max(0, o), total - length) for o in offs]


def _overlaps(start: int, end: int, off: int, length: int) -> bool:
    """Whether [start, end] reaches into the clip [off, off + length) (a point included)."""
    return start < off + length and (end > off or (start == end and start >= off))


def _row_dict(lab: Labelled, rec: RecordingEvents, scale: float) -> dict:
    """The row as a clip records it: times in seconds of the recording (an end clamped to it)."""
    ev = lab.event
    return {**ev.to_dict(), "class": lab.cls, "start": ev.start * scale,
            "end": min(ev.end * scale, rec.frames / rec.samplerate)}


def _plan_recording(rec: RecordingEvents, opts: ClipOptions,
                    ) -> tuple[list[Clip], dict, list[RowProblem], list[str]]:
    rows, fates, problems, warnings = _in_frames(rec, opts)
    length, hop = clip_frames(rec, opts)
    length_used = min(length, rec.frames)
    by_class: dict[str, list] = defaultdict(list)
    for row in rows:
        if row[0].cls is not None:
            by_class[row[0].cls].append(row)
    spans = {c: _merge(r) for c, r in sorted(by_class.items())}
    clips: list[Clip] = []
    for cls, own in spans.items():
        others = [s for c, ss in spans.items() if c != cls for s in ss]
        chosen: dict[int, set[int]] = defaultdict(set)  # offset -> spans (indexes) it covers
        dropped: set[int] = set()
        for i, span in enumerate(own):
            for off in _offsets(span, rec.frames, length, hop):
                crossed = any(_overlaps(o.start, o.end, off, length_used) for o in others)
                if crossed and opts.multi_label == "drop":
                    dropped.add(i)
                    continue
                chosen[off].add(i)
        offsets = sorted(chosen)
        if opts.max_per_recording is not None and len(offsets) > opts.max_per_recording:
            offsets = _spread(offsets, opts.max_per_recording,
                              random.Random(derive_seed(opts.seed, rec.recording, cls, "cap")))
        covered = {i for off in offsets for i in chosen[off]}
        for i, span in enumerate(own):
            for k, (lab, _, _) in enumerate(span.rows):
                fate = ("used" if k == 0 else "merged") if i in covered else (
                    "multi-label dropped" if i in dropped else "capped")
                fates[(lab.event.table, lab.event.line)] = fate
        for n, off in enumerate(offsets):
            inside = [r for s in own for r in s.rows if _overlaps(r[1], r[2], off, length_used)]
            if opts.multi_label == "keep":
                inside += [r for s in others for r in s.rows if _overlaps(r[1], r[2], off, length_used)]
            inside.sort(key=lambda r: (r[1], r[2], r[0].event.table, r[0].event.line))
            clips.append(Clip(recording=rec.recording, cls=cls, window=Window(n, off, length_used),
                              events=tuple(_row_dict(r[0], rec, opts.table_scale) for r in inside)))
    if opts.background_class is not None and rec.exhaustive:
        clips += _background(rec, opts, _all_spans(rec, opts), length)
    return clips, fates, problems, warnings


def _all_spans(rec: RecordingEvents, opts: ClipOptions) -> list[tuple[int, int]]:
    """Every event's frames, those left out included (a point event still marks a sound)."""
    sr = rec.samplerate
    return [(round(lab.event.start * opts.table_scale * sr), round(lab.event.end * opts.table_scale * sr))
            for lab in rec.events]


def _background(rec: RecordingEvents, opts: ClipOptions, spans: list[tuple[int, int]],
                length: int) -> list[Clip]:
    """Clips of the background class: a grid of clips, each at least one clip from every event."""
    if rec.frames < length:
        return []
    offsets = [off for off in range(0, rec.frames - length + 1, length)
               if all(off + 2 * length <= s or off >= e + length for s, e in spans)]
    if opts.max_per_recording is not None and len(offsets) > opts.max_per_recording:
        offsets = _spread(offsets, opts.max_per_recording,
                          random.Random(derive_seed(opts.seed, rec.recording, opts.background_class, "cap")))
    return [Clip(recording=rec.recording, cls=opts.background_class, window=Window(n, off, length), events=())
            for n, off in enumerate(offsets)]


def _spread(offsets: list[int], count: int, rng: random.Random) -> list[int]:
    """``count`` of the sorted ``offsets``: one drawn in each of ``count`` equal stretches."""
    n = len(offsets)
    return [offsets[rng.randrange(i * n // count, (i + 1) * n // count)] for i in range(count)]
