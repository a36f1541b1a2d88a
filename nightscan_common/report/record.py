"""The report's typed record: every figure the page shows, written as ``report.json``.

The HTML page and the plots are drawn from this record alone, so a figure is computed
once, in ``data.py``, and a user's script reads the same numbers from ``report.json``.
Counts per split are tuples in the order of ``splits`` (train, val, test).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..dsp.band_check import ClassBand
from ..io.atomic_write import json_text

FORMAT_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class StepStatus:
    """A step's exit status: as the step recorded it (``recorded``), else as its outputs tell it
    (None: the step's output was not given); ``warnings``: what the step warned about."""

    step: str
    status: int | None
    why: str
    warnings: list[str] = dataclasses.field(default_factory=list)
    recorded: bool = False


@dataclass(frozen=True)
class CrossClass:
    """One recording filed under two classes or more: its pool files and the split of each."""

    files: list[str]
    splits: list[str | None]

    @property
    def leaks(self) -> bool:
        """The copies are in different splits: the model is tested on what it trained on."""
        return len({s for s in self.splits if s}) > 1


@dataclass(frozen=True, kw_only=True)
class Summary:
    classes: int
    samples: int
    target: int
    short_classes: list[str]
    skipped: int
    leaking_groups: int
    duplicates: int  # sets of copies, each counted once
    steps: list[StepStatus]
    cross_class: int = 0  # recordings filed under two classes or more
    cross_class_leaking: int = 0  # of them, those whose copies are in different splits


@dataclass(frozen=True, kw_only=True)
class ClassBalance:
    """One class before and after balancing."""

    name: str
    originals_found: int
    originals_kept: int
    augmented: int
    total: int
    short_by: int


@dataclass(frozen=True, kw_only=True)
class ClassSplit:
    """One class in the index: per split, samples (originals + augmented) and groups."""

    name: str
    originals: tuple[int, ...]
    augmented: tuple[int, ...]
    groups: tuple[int, ...]
    #: samples minus ratio x class total, per split
    deviation: tuple[float, ...]

    @property
    def samples(self) -> tuple[int, ...]:
        return tuple(o + a for o, a in zip(self.originals, self.augmented, strict=True))


@dataclass(frozen=True, kw_only=True)
class Splits:
    splits: tuple[str, ...]
    ratios: tuple[float, ...]
    classes: list[ClassSplit]
    leaking_groups: int
    leaking_examples: list[str]
    warnings: list[str]
    cross_class: list[CrossClass] = dataclasses.field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Histogram:
    """Counts per bin; ``edges`` has one more value than ``counts``."""

    label: str
    unit: str
    edges: list[float]
    counts: list[int]


@dataclass(frozen=True)
class Problem:
    """A file the steps left out or flagged, and why."""

    kind: str  # skipped, failed, duplicate, quiet, ignored
    path: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class Inputs:
    """What went in: the originals as the pool metadata records them."""

    originals: int
    sample_rates: dict[str, int]  # Hz -> originals
    channels: dict[str, int]
    duration: Histogram | None
    window_seconds: float
    padded_windows: int  # samples whose analysed window is partly padding
    padding: Histogram | None  # share of the window that is padding, over padded samples
    levels: list[Histogram]  # peak and RMS dBFS, when the pool records them
    problems: list[Problem]


@dataclass(frozen=True)
class Augmentations:
    types: list[str]
    #: type -> class -> count
    counts: dict[str, dict[str, int]]
    #: one histogram per recorded parameter and type, label "<type>: <parameter>"
    params: list[Histogram]


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One file of the listen-and-look grid; its media are in the page, not here."""

    path: str  # <class>/<file name>
    augmentation: str | None
    params: dict[str, float]
    split: str | None
    spectrogram: str  # "step 3", "computed" or "" (unreadable)
    excerpt_start_s: float | None  # within the analysed window
    error: str = ""
    padding_from_s: float | None = None  # the window is padding from here on (a shorter clip)
    nyquist_hz: float | None = None  # the recording's Nyquist frequency, when below the band's top
    nyquist_at: float | None = None  # where it lies on the tile's mel axis, 0 (bottom) to 1 (top)
    time_expansion: int = 1  # the excerpt plays this many times slower (ultrasound made audible)


@dataclass(frozen=True)
class SampleSet:
    original: Sample
    augmentations: list[Sample]


@dataclass(frozen=True)
class ClassSamples:
    name: str
    sets: list[SampleSet]


@dataclass(frozen=True, kw_only=True)
class Listen:
    seed: int
    classes_shown: int
    classes_total: int
    excerpt_seconds: float
    excerpt_rate: int
    classes: list[ClassSamples]  # in the order shown: short classes first
    #: the tiles' axes: frequencies (Hz) at the bottom, middle and top of the image; window (s)
    fmin: float = 0.0
    fmax: float = 0.0
    fmid: float = 0.0
    window_seconds: float = 0.0

    def samples(self) -> list[Sample]:
        return [s for c in self.classes for st in c.sets for s in [st.original, *st.augmentations]]


@dataclass(frozen=True, kw_only=True)
class Settings:
    tool_version: str
    step1: dict[str, Any]
    step2: dict[str, str]
    step3: dict[str, Any]
    #: input file -> sha256
    checksums: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class TableFates:
    """One annotation table as step 1 read it: its rows and what became of them (fate -> rows)."""

    table: str
    format: str
    recording: str | None
    rows: int
    fates: dict[str, int]


@dataclass(frozen=True, kw_only=True)
class ClassEvents:
    """One class of the tables: events (rows a clip covers), clips planned and kept, recordings."""

    name: str
    events: int
    clips: int
    kept: int
    recordings: int


@dataclass(frozen=True, kw_only=True)
class Span:
    """A stretch of a recording, seconds from its start: an event (``file`` is its ``table:line``)
    or a clip of the pool (``file`` is ``<class>/<name>``, ``split`` its split in the index)."""

    cls: str
    start: float
    end: float
    file: str
    split: str | None = None


@dataclass(frozen=True, kw_only=True)
class Timeline:
    """One recording: the events its clips hold, by class, and the clips taken with their split."""

    recording: str
    seconds: float  # the axis: up to the end of the last clip or event
    events: list[Span]
    clips: list[Span]

    @property
    def splits(self) -> list[str]:
        """The splits its clips are in: one, or the recording leaks."""
        return sorted({c.split for c in self.clips if c.split})


@dataclass(frozen=True, kw_only=True)
class Annotations:
    """``annotations.json`` of an annotated pool, and a timeline per recording (the first
    ``len(timelines)`` by path; ``recordings`` in all)."""

    fates: list[str]  # the fates some table has, in step 1's order: the table's columns
    tables: list[TableFates]
    classes: list[ClassEvents]
    timelines: list[Timeline]
    recordings: int


@dataclass(frozen=True, kw_only=True)
class Report:
    summary: Summary
    balance: list[ClassBalance]
    splits: Splits
    inputs: Inputs
    augmentations: Augmentations
    listen: Listen
    settings: Settings
    #: per class, the share of its energy inside step 3's band (from windows.json)
    bands: list[ClassBand] = dataclasses.field(default_factory=list)
    #: step 3's per-file warnings (warnings.json)
    spectrogram_warnings: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: what step 1 read from the tables (``annotations.json``), for a pool made with --annotations
    annotations: Annotations | None = None
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys, one line per value); the bytes of ``report.json``."""
        data = dataclasses.asdict(self)
        for c, s in zip(data["splits"]["classes"], self.splits.classes, strict=True):
            c["samples"] = list(s.samples)
        return json_text(data, indent=1) + "\n"
