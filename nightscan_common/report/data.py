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

import numpy as np

from .inputs import SPLITS, ClassBand, IndexInputs, PoolInputs, SpectrogramInputs, class_bands
from .record import (
    Augmentations,
    ClassBalance,
    ClassSplit,
    Histogram,
    Inputs,
    Problem,
    Splits,
    StepStatus,
    Summary,
)

#: bins of the histograms of durations, levels and parameters
BINS = 30
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
    return Histogram(label, unit, [round(float(e), 6) for e in edges], [int(c) for c in counts])


def balance(pool: PoolInputs) -> list[ClassBalance]:
    """Per class: originals found and kept, augmentations made, total, shortfall."""
    target = int(pool.metadata.get("target_samples_per_class") or 0)
    out = []
    for name, files in pool.classes.items():
        entry = pool.metadata["classes"][name]
        kept = sum(not f.is_augmented for f in files)
        found = entry.get("original_count")
        out.append(ClassBalance(name, int(found) if isinstance(found, int) else kept, kept,
                                len(files) - kept, len(files), max(0, target - len(files))))
    return out


def splits(pool: PoolInputs, index: IndexInputs) -> Splits:
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
        classes.append(ClassSplit(name, originals, augmented,
                                  tuple(index.groups.get((name, s), 0) for s in SPLITS), deviation))
    return Splits(SPLITS, ratios, classes, index.leaking_groups, index.leaking_examples,
                  index_warnings(pool, index, classes))


def index_warnings(pool: PoolInputs, index: IndexInputs, classes: list[ClassSplit]) -> list[str]:
    """What a reader of the splits should know: empty splits, and an index that is not this pool's."""
    warnings = []
    recorded = index.info.get("pool_metadata_sha256")
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


def problems(pool: PoolInputs, spectrograms: SpectrogramInputs) -> list[Problem]:
    """Skipped, ignored, quiet and duplicate originals, and step 3's failures, each with its reason."""
    out = []
    for key, kind in LISTED_PROBLEMS.items():
        for item in pool.metadata.get(key) or []:
            if isinstance(item, dict):
                out.append(Problem(kind, str(item.get("path", "")), str(item.get("reason", ""))))
    for copy, kept in sorted((pool.metadata.get("duplicates") or {}).items()):  # left out by step 1
        out.append(Problem("duplicate", str(copy), f"the same recording as {kept}; left out"))
    for names in pool.metadata.get("cross_class_duplicates") or []:
        out += [Problem("duplicate", str(n), f"the same recording in another class: {' = '.join(names)}")
                for n in names]
    first: dict[str, str] = {}
    for name, files in pool.classes.items():
        for f in files:
            if f.sha256 is None:
                continue
            path = f"{name}/{f.name}"
            if f.sha256 in first:
                out.append(Problem("duplicate", path, f"same content as {first[f.sha256]}"))
            else:
                first[f.sha256] = path
    out += [Problem("failed", str(f.get("path", "")), f"step 3: {f.get('reason', '')}")
            for f in spectrograms.failures if isinstance(f, dict)]
    return out


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
    return Inputs(len(originals), dict(sorted(rates.items(), key=lambda kv: int(kv[0]))),
                  dict(sorted(channels.items())),
                  histogram((f.seconds for f in originals if f.seconds is not None),
                            label="duration of the originals", unit="s", low=0.0),
                  window, len(shares),
                  histogram(shares, label="share of the window that is padding", unit="fraction",
                            low=0.0, high=1.0, bins=10),
                  levels, found)


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


def step_statuses(pool: PoolInputs, index: IndexInputs, spectrograms: SpectrogramInputs) -> list[StepStatus]:
    """Each step's exit status as its outputs show it (the steps do not record their own)."""
    skipped = len(pool.metadata.get("skipped") or [])
    steps = [StepStatus("step 1", 1 if skipped else 0, f"{skipped} file(s) skipped"),
             StepStatus("step 2", 1 if index.leaking_groups else 0,
                        f"{index.leaking_groups} group(s) in more than one split")]
    if spectrograms.folder is None:
        steps.append(StepStatus("step 3", None, "no --spectrogram-dir given"))
    else:
        failed = len(spectrograms.failures)
        steps.append(StepStatus("step 3", 1 if failed else 0, f"{failed} file(s) failed"))
    return steps


def summary(pool: PoolInputs, index: IndexInputs, spectrograms: SpectrogramInputs,
            classes: list[ClassBalance], found: list[Problem]) -> Summary:
    """The summary line: classes and samples in the index, the target, what went wrong."""
    return Summary(len({c for c, _, _ in index.rows}), sum(index.rows.values()),
                   int(pool.metadata.get("target_samples_per_class") or 0),
                   [c.name for c in classes if c.short_by], len(pool.metadata.get("skipped") or []),
                   index.leaking_groups, sum(p.kind == "duplicate" for p in found),
                   step_statuses(pool, index, spectrograms))


def bands(spectrograms: SpectrogramInputs) -> list[ClassBand]:
    """Per class, the share of its energy inside step 3's band, as step 3 measured it."""
    return class_bands(spectrograms.windows, spectrograms.config, preset=spectrograms.preset)
