"""Every figure of the report, computed once from the pool metadata, the index and step 3's folder.

Nothing here opens an audio file: the figures come from what the steps recorded
(``pool_metadata.json``, SQL counts of the index, ``spectrogram_config.json`` and
``failures.json``), so a pool of 750,000 files is summarised in seconds.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .inputs import (
    POOL_SHA_KEY,
    SHOWN_FATES,
    SPLITS,
    ClassBand,
    FileEntry,
    IndexInputs,
    PoolInputs,
    SpectrogramInputs,
    StepOutcome,
    class_bands,
    read_splits_of,
)
from .record import (
    Annotations,
    Augmentations,
    ClassBalance,
    ClassEvents,
    ClassSplit,
    CrossClass,
    Histogram,
    Inputs,
    Problem,
    Span,
    Splits,
    StepStatus,
    Summary,
    TableFates,
    Timeline,
)

#: bins of the histograms of durations, levels and parameters
BINS = 30
#: recordings drawn as timelines (the first by path); the page says how many are left out
MAX_TIMELINES = 20
#: lists in the metadata that name files with a reason, and what the report calls them
LISTED_PROBLEMS = {"skipped": "skipped", "ignored": "ignored", "quiet": "quiet"}


def histogram(values: Iterable[float], *, label: str, unit: str, low: float | None = None,
              high: float | None = None, bins: int = BINS) -> Histogram | None:
    """Counts of ``values`` in ``bins`` equal bins from ``low`` (default: the least) to ``high``."""
    data = np.fromiter(values, dtype=np.float64)
    data = data[np.isfinite(data)]
    if data.size == 0:
        return None
    lo = float(data.min()) if low is None else low
    hi = float(data.max()) if high is None else high
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(data, bins=bins, range=(lo, hi))
    return Histogram(label=label, unit=unit, edges=[round(float(e), 6) for e in edges],
                     counts=[int(c) for c in counts])


def balance(pool: PoolInputs) -> list[ClassBalance]:
    """Per class: originals found and kept, augmentations made, total, shortfall."""
    target = int(pool.metadata.get("target_samples_per_class") or 0)
    out = []
    for name, files in pool.classes.items():
        entry = pool.metadata["classes"][name]
        kept = sum(not f.is_augmented for f in files)
        found = entry.get("original_count")
        out.append(ClassBalance(name=name, originals_found=int(found) if isinstance(found, int) else kept,
                                originals_kept=kept,
                                augmented=len(files) - kept, total=len(files),
                                short_by=max(0, target - len(files))))
    return out


def splits(pool: PoolInputs, index: IndexInputs, cross: list[CrossClass] | None = None) -> Splits:
    """Per class and split: samples, originals against augmented, groups, deviation from the ratios."""
    try:
        ratio_map = json.loads(index.info.get("ratios", "{}"))
        ratios = tuple(float(ratio_map[s]) for s in SPLITS)
    except (ValueError, KeyError, TypeError):
        ratios = (math.nan,) * len(SPLITS)
    names = sorted({c for c, _, _ in index.rows})
    classes = []
    for name in names:
        originals = tuple(index.rows.get((name, s, 0), 0) for s in SPLITS)
        augmented = tuple(index.rows.get((name, s, 1), 0) for s in SPLITS)
        total = sum(originals) + sum(augmented)
        deviation = tuple(round(o + a - r * total, 3)
                          for o, a, r in zip(originals, augmented, ratios, strict=True))
        classes.append(ClassSplit(name=name, originals=originals, augmented=augmented,
                                  groups=tuple(index.groups.get((name, s), 0) for s in SPLITS),
                                  deviation=deviation))
    return Splits(splits=SPLITS, ratios=ratios, classes=classes, leaking_groups=index.leaking_groups,
                  leaking_examples=index.leaking_examples,
                  warnings=index_warnings(pool, index, classes), cross_class=cross or [])


def pool_file(pool: PoolInputs, name: str) -> str:
    """``<class>/<pool file name>`` of a name that is one already, or an original's ``<class>/<source>``."""
    cls, _, rest = name.partition("/")
    files = pool.classes.get(cls, [])
    if any(f.name == rest for f in files):
        return name
    return next((f"{cls}/{f.name}" for f in files if not f.is_augmented and f.source == rest), name)


def cross_class(pool: PoolInputs, outcomes: dict[int, StepOutcome | None]) -> list[list[str]]:
    """Recordings filed under two classes or more, as pool files: as step 2 found them (by content),
    else as step 1 did (its ``cross_class_duplicates``); each set once."""
    recorded = outcomes.get(2) or outcomes.get(1)
    found = recorded.cross_class if recorded is not None and recorded.cross_class else (
        pool.metadata.get("cross_class_duplicates") or [])
    sets = {tuple(sorted(pool_file(pool, str(n)) for n in names)) for names in found
            if isinstance(names, list) and len(names) > 1}
    return [list(names) for names in sorted(sets)]


def index_warnings(pool: PoolInputs, index: IndexInputs, classes: list[ClassSplit]) -> list[str]:
    """What a reader of the splits should know: empty splits, and an index that is not this pool's."""
    warnings = []
    recorded = index.info.get(POOL_SHA_KEY)
    if recorded and recorded != pool.sha256:
        warnings.append("the index was made from another pool_metadata.json than this pool's "
                        "(checksums differ): rebuild it with create_balanced_index.py")
    eval_only = index.info.get("eval_originals_only") == "1"
    for c in classes:
        empty = [s for s, g in zip(SPLITS, c.groups, strict=True) if g == 0]
        if empty:
            warnings.append(f"class {c.name!r} has no {' or '.join(empty)} samples "
                            f"({sum(c.groups)} group(s) in all); NightScan's loader numbers the classes "
                            "of each split apart, so the labels after it shift there")
        pool_total = len(pool.classes.get(c.name, []))
        if not eval_only and pool_total != sum(c.samples):
            warnings.append(f"class {c.name!r}: {sum(c.samples)} rows in the index, {pool_total} files "
                            "in the pool metadata")
    missing = sorted(set(pool.classes) - {c.name for c in classes})
    if missing:
        warnings.append(f"{len(missing)} class(es) of the pool are not in the index: "
                        f"{', '.join(missing[:5])}")
    return warnings


def problems(pool: PoolInputs, spectrograms: SpectrogramInputs,
             cross: list[list[str]] | None = None) -> list[Problem]:
    """Skipped, ignored, quiet and duplicate originals, and step 3's failures, each with its reason."""
    out = []
    for key, kind in LISTED_PROBLEMS.items():
        for item in pool.metadata.get(key) or []:
            if isinstance(item, dict):
                out.append(Problem(kind, str(item.get("path", "")), str(item.get("reason", ""))))
    for copy, kept in sorted((pool.metadata.get("duplicates") or {}).items()):  # left out by step 1
        out.append(Problem("duplicate", str(copy), f"the same recording as {kept}; left out"))
    named: set[str] = set()
    for names in cross or []:  # one line per recording, however many classes hold it
        named.update(names)
        out.append(Problem("duplicate", " = ".join(names), "one recording filed under "
                           f"{len({n.split('/', 1)[0] for n in names})} classes"))
    first: dict[str, str] = {}
    for name, files in pool.classes.items():
        for f in files:
            if f.sha256 is None:
                continue
            path = f"{name}/{f.name}"
            if f.sha256 in first and path not in named and first[f.sha256] not in named:
                out.append(Problem("duplicate", path, f"same content as {first[f.sha256]}"))
            else:
                first.setdefault(f.sha256, path)
    out += [Problem("failed", str(f.get("path", "")), f"step 3: {f.get('reason', '')}")
            for f in spectrograms.failures if isinstance(f, dict)]
    return out


def cross_splits(index_db: Path, sets: list[list[str]]) -> list[CrossClass]:
    """Each recording filed under several classes, with the split each of its copies is in."""
    where = read_splits_of(index_db, [n for names in sets for n in names])
    return [CrossClass(names, [where.get(n) for n in names]) for names in sets]


def inputs(pool: PoolInputs, spectrograms: SpectrogramInputs, found: list[Problem]) -> Inputs:
    """Rates, channels, durations and levels of the originals; padding of every sample's window."""
    originals = [f for files in pool.classes.values() for f in files if not f.is_augmented]
    window = float(spectrograms.config.duration)
    shares = [1.0 - f.seconds / window for files in pool.classes.values() for f in files
              if f.seconds is not None and f.seconds < window]
    rates = Counter(str(f.samplerate) for f in originals if f.samplerate)
    channels = Counter(str(f.channels) for f in originals if f.channels)
    levels = [h for h in (histogram((f.peak_dbfs for f in originals if f.peak_dbfs is not None),
                                    label="peak level", unit="dBFS"),
                          histogram((f.rms_dbfs for f in originals if f.rms_dbfs is not None),
                                    label="RMS level", unit="dBFS")) if h is not None]
    return Inputs(originals=len(originals),
                  sample_rates=dict(sorted(rates.items(), key=lambda kv: int(kv[0]))),
                  channels=dict(sorted(channels.items())),
                  duration=histogram((f.seconds for f in originals if f.seconds is not None),
                            label="duration of the originals", unit="s", low=0.0),
                  window_seconds=window, padded_windows=len(shares),
                  padding=histogram(shares, label="share of the window that is padding", unit="fraction",
                            low=0.0, high=1.0, bins=10),
                  levels=levels, problems=found)


def augmentations(pool: PoolInputs) -> Augmentations:
    """Counts per type and class; a histogram of each recorded parameter, per type."""
    counts: dict[str, Counter[str]] = {}
    values: dict[tuple[str, str], list[float]] = {}
    for name, files in pool.classes.items():
        for f in files:
            if not f.is_augmented:
                continue
            kind = f.augmentation or "unknown"
            counts.setdefault(kind, Counter())[name] += 1
            for param, value in f.params:
                values.setdefault((kind, param), []).append(value)
    types = sorted(counts)
    params = [h for (kind, param), v in sorted(values.items())
              if (h := histogram(v, label=f"{kind}: {param}", unit=param_unit(param), bins=20))]
    return Augmentations(types, {t: dict(sorted(counts[t].items())) for t in types}, params)


def param_unit(param: str) -> str:
    """The unit of a recorded parameter, read from its name (``gain_db`` -> dB)."""
    for suffix, unit in (("_db", "dB"), ("_seconds", "s"), ("semitones", "semitones")):
        if param.endswith(suffix):
            return unit
    return "ratio" if param == "rate" else ""


def step_statuses(pool: PoolInputs, index: IndexInputs, spectrograms: SpectrogramInputs,
                  outcomes: dict[int, StepOutcome | None]) -> list[StepStatus]:
    """Each step's exit status, why and warnings as the step recorded them for these outputs;
    a step that kept none (run by an earlier version) gets the status its outputs show."""
    skipped = len(pool.metadata.get("skipped") or [])
    shown = {1: StepStatus(step="step 1", status=1 if skipped else 0, why=f"{skipped} file(s) skipped"),
             2: StepStatus(step="step 2", status=1 if index.leaking_groups else 0,
                           why=f"{index.leaking_groups} group(s) in more than one split")}
    if spectrograms.folder is None:
        shown[3] = StepStatus(step="step 3", status=None, why="no --spectrogram-dir given")
    else:
        failed = len(spectrograms.failures)
        shown[3] = StepStatus(step="step 3", status=1 if failed else 0, why=f"{failed} file(s) failed")
    for n, outcome in outcomes.items():
        if outcome is not None:
            shown[n] = StepStatus(step=f"step {n}", status=outcome.status, why=outcome.why,
                                  warnings=outcome.warnings, recorded=True)
    return [shown[n] for n in sorted(shown)]


def summary(pool: PoolInputs, index: IndexInputs, spectrograms: SpectrogramInputs,
            classes: list[ClassBalance], found: list[Problem], *,
            outcomes: dict[int, StepOutcome | None], cross: list[CrossClass]) -> Summary:
    """The summary line: classes and samples in the index, the target, what went wrong."""
    return Summary(classes=len({c for c, _, _ in index.rows}), samples=sum(index.rows.values()),
                   target=int(pool.metadata.get("target_samples_per_class") or 0),
                   short_classes=[c.name for c in classes if c.short_by],
                   skipped=len(pool.metadata.get("skipped") or []),
                   leaking_groups=index.leaking_groups, duplicates=sum(p.kind == "duplicate" for p in found),
                   steps=step_statuses(pool, index, spectrograms, outcomes), cross_class=len(cross),
                   cross_class_leaking=sum(c.leaks for c in cross))


def bands(spectrograms: SpectrogramInputs) -> list[ClassBand]:
    """Per class, the share of its energy inside step 3's band, as step 3 measured it."""
    return class_bands(spectrograms.windows, spectrograms.config, preset=spectrograms.preset)


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def annotations(pool: PoolInputs, record: dict | None, index_db: Path, *,
                limit: int = MAX_TIMELINES) -> Annotations | None:
    """Step 1's record of its tables (per table its fates, per class its events and clips) and a
    timeline of each of the first ``limit`` recordings: the events of its clips by class, and
    its clips with the split the index gives each (one split per recording, or it leaks)."""
    if record is None:
        return None
    tables = [TableFates(table=str(t.get("table")), format=str(t.get("format")),
                         recording=t["recording"] if isinstance(t.get("recording"), str) else None,
                         rows=_count(t.get("rows")),
                         fates={f: n for f in SHOWN_FATES if (n := _count(t["fates"].get(f)))})
              for t in record["tables"]]
    counts = ("events", "clips", "kept", "recordings")
    classes = [ClassEvents(name=name, **{k: _count(c.get(k)) for k in counts})
               for name, c in sorted(record["classes"].items())]
    by_recording: dict[str, list[tuple[str, FileEntry]]] = {}
    for name, files in pool.classes.items():
        for f in files:
            if not f.is_augmented and f.offset_seconds is not None:
                by_recording.setdefault(f.source, []).append((name, f))
    drawn = sorted(by_recording)[:limit]
    where = read_splits_of(index_db, [f"{c}/{f.name}" for r in drawn for c, f in by_recording[r]])
    fates = [f for f in SHOWN_FATES if any(t.fates.get(f) for t in tables)]
    return Annotations(fates=fates, tables=tables, classes=classes,
                       timelines=[_timeline(r, by_recording[r], where) for r in drawn],
                       recordings=len(by_recording))


def _timeline(recording: str, clips: list[tuple[str, FileEntry]], where: dict[str, str]) -> Timeline:
    """One recording's clips (by start) and the events they hold, each event once."""
    spans = sorted((Span(cls=c, start=f.offset_seconds or 0.0,
                         end=(f.offset_seconds or 0.0) + (f.seconds or 0.0),
                         file=f"{c}/{f.name}", split=where.get(f"{c}/{f.name}")) for c, f in clips),
                   key=lambda s: (s.start, s.file))
    events = sorted({Span(cls=cls, start=start, end=end, file=at)
                     for _, f in clips for cls, start, end, at in f.events},
                    key=lambda s: (s.start, s.end, s.file))
    end = max([s.end for s in spans] + [e.end for e in events] + [0.0])
    return Timeline(recording=recording, seconds=round(end, 6), events=events, clips=spans)
