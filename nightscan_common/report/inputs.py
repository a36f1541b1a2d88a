"""The report's one door to the rest of the toolkit: pool metadata, index, spectrograms, audio.

Every other module of ``nightscan_common.report`` reads its inputs through these
functions, so that the toolkit's modules can move without the report noticing. Nothing
here opens an audio file except ``read_excerpt_window``.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__ as TOOL_VERSION
from ..annotations.records import ANNOTATIONS_FILENAME, SHOWN_FATES
from ..dsp.band_check import ClassBand, class_bands
from ..dsp.spectrogram import SpectrogramConfig, log_mel_spectrogram
from ..errors import NightScanError, UsageError
from ..formats.index_db import (
    POOL_SHA_KEY,
    group_counts,
    leaking_group_keys,
    read_index_info,
    split_counts,
    splits_of,
)
from ..formats.labels import read_labels
from ..formats.layout_registry import Rows
from ..formats.layouts import layouts_holding
from ..formats.pool_metadata import METADATA_FILENAME, BadEntry, FileRecord, load_pool_metadata
from ..formats.provenance import check_index_pool
from ..formats.spectrogram_folder import CONFIG_FILENAME, FAILURES_FILENAME, WARNINGS_FILENAME
from ..formats.step_outcome import StepOutcome, read_outcome
from ..formats.window_manifest import read_windows
from ..io.atomic_write import write_bytes
from ..io.audio_files import is_inside
from ..io.audio_io import resample
from ..io.audio_window import read_window
from ..io.bounded_json import load_json_file
from ..io.file_hash import file_sha256
from ..seeds import derive_seed
from ..vocabulary import SPLITS, job_key

#: parameters that audiomentations works in but the user does not (docs/step1-pool.md: ``noise_std``
#: beside ``snr_db``)
INTERNAL_PARAMS = frozenset({"noise_std"})
__all__ = ["POOL_SHA_KEY", "check_index_pool", "ClassBand", "class_bands", "StepOutcome", "mel_fraction",
           "mel_middle", "TOOL_VERSION", "SPLITS",
           "METADATA_FILENAME", "UsageError", "NightScanError", "write_bytes",
           "is_inside", "file_sha256", "resample", "derive_seed", "SpectrogramConfig", "SHOWN_FATES"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileEntry:
    """What the report needs of one metadata file entry (kept small: a pool has 750,000)."""

    name: str
    is_augmented: bool
    source: str
    augmentation: str | None
    seconds: float | None
    samplerate: int | None
    channels: int | None
    sha256: str | None
    peak_dbfs: float | None
    rms_dbfs: float | None
    params: tuple[tuple[str, float], ...]
    offset_seconds: float | None = None  # a window's or clip's start in its recording
    #: a clip's events (--annotations): (class, start s, end s, ``table:line``)
    events: tuple[tuple[str, float, float, str], ...] = ()


def _events(events: Any) -> tuple[tuple[str, float, float, str], ...]:
    """A clip's events as the timeline needs them; an event without a class or times is left out."""
    out = []
    for e in events if isinstance(events, list) else ():
        if not isinstance(e, dict):
            continue
        start, end, cls = _number(e.get("start")), _number(e.get("end")), e.get("class")
        if start is not None and end is not None and isinstance(cls, str):
            out.append((sys.intern(cls), start, end, f"{e.get('table')}:{e.get('line')}"))
    return tuple(out)


@dataclass
class PoolInputs:
    """The pool metadata, its file entries compacted as they are parsed."""

    metadata: dict[str, Any]
    sha256: str
    classes: dict[str, list[FileEntry]] = field(default_factory=dict)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _compact(obj: dict) -> Any:
    """``json`` object hook: a file entry, read by the pool's own record (``FileRecord``), becomes a
    ``FileEntry`` as soon as it is parsed; an entry the record refuses stays a dict (then refused)."""
    if "filename" not in obj or "type" not in obj:
        return obj
    try:
        rec = FileRecord.from_dict(obj)
    except BadEntry:
        return obj
    frames, rate = _number(rec.frames), _number(rec.samplerate)
    params = rec.params or {}
    numeric = tuple(sorted((k, v) for k, v in ((k, _number(v)) for k, v in params.items())
                           if v is not None and k not in INTERNAL_PARAMS))
    levels = rec.audit if isinstance(rec.audit, dict) else obj  # step 1's audit record
    return FileEntry(name=rec.filename, is_augmented=rec.is_augmented, source=sys.intern(rec.source),
                     augmentation=sys.intern(rec.augmentation) if isinstance(rec.augmentation, str) else None,
                     seconds=frames / rate if frames is not None and rate else None,
                     samplerate=int(rate) if rate else None,
                     channels=int(c) if (c := _number(rec.channels)) else None,
                     sha256=rec.sha256 if isinstance(rec.sha256, str) else None,
                     peak_dbfs=_number(levels.get("peak_dbfs")), rms_dbfs=_number(levels.get("rms_dbfs")),
                     params=numeric, offset_seconds=_number(rec.offset_seconds), events=_events(rec.events))


def read_pool_inputs(pool_dir: Path) -> PoolInputs:
    """The pool's metadata with file lists; ``UsageError`` naming what is missing."""
    if not pool_dir.is_dir():
        raise UsageError(f"pool folder not found: {pool_dir}")
    metadata = load_pool_metadata(pool_dir, object_hook=_compact)
    if metadata is None:
        raise UsageError(f"{pool_dir / METADATA_FILENAME} not found; the report reads a pool made by "
                         "create_augmented_pool.py")
    classes: dict[str, list[FileEntry]] = {}
    for name, entry in sorted(metadata["classes"].items()):
        files = entry.get("files") if isinstance(entry, dict) else None
        if not isinstance(files, list) or not all(isinstance(f, FileEntry) for f in files):
            raise UsageError(f"{pool_dir / METADATA_FILENAME}: class {name!r} has no readable file list; "
                             "rebuild the pool with create_augmented_pool.py")
        classes[name] = sorted(files, key=lambda f: f.name)
    return PoolInputs(metadata, file_sha256(pool_dir / METADATA_FILENAME), classes)


@dataclass(kw_only=True)
class IndexInputs:
    """What the report reads from the index: counts from SQL, never row by row."""

    info: dict[str, str]
    sha256: str
    #: (class, split, is_augmented) -> rows
    rows: dict[tuple[str, str, int], int]
    #: (class, split) -> distinct groups
    groups: dict[tuple[str, str], int]
    leaking_groups: int
    leaking_examples: list[str]
    #: file_path -> split, for the files the report shows
    split_of: dict[str, str] = field(default_factory=dict)


def read_index_inputs(db_path: Path, *, leak_examples: int) -> IndexInputs:
    """Counts per class and split, groups, leakage, through the index's own reader (``formats/index_db``,
    which opens it read-only and leaves no file beside it); ``UsageError`` for a file that is not an index."""
    if not db_path.is_file():
        raise UsageError(f"index database not found: {db_path}")
    info = read_index_info(db_path)
    try:
        if info is None:
            raise sqlite3.DatabaseError("no index_info table")
        rows, groups, leaks = split_counts(db_path), group_counts(db_path), leaking_group_keys(db_path)
    except sqlite3.Error as exc:
        raise UsageError(f"{db_path} is not an index made by create_balanced_index.py ({exc}); "
                         "rebuild it") from None
    return IndexInputs(info=info, sha256=file_sha256(db_path), rows=rows, groups=groups,
                       leaking_groups=len(leaks), leaking_examples=leaks[:leak_examples])


def read_annotations(pool_dir: Path) -> dict[str, Any] | None:
    """``annotations.json`` of a pool made with --annotations (None for any other pool), read
    through the bounded reader: its ``tables`` and ``classes``; ``UsageError`` when it is not
    step 1's record."""
    path = pool_dir / ANNOTATIONS_FILENAME
    if not os.path.lexists(path):
        return None
    remedy = "rerun create_augmented_pool.py with --annotations"
    record = load_json_file(path, remedy=remedy)
    tables = record.get("tables") if isinstance(record, dict) else None
    classes = record.get("classes") if isinstance(record, dict) else None
    if (not isinstance(tables, list) or not isinstance(classes, dict)
            or not all(isinstance(t, dict) and isinstance(t.get("fates"), dict) for t in tables)
            or not all(isinstance(c, dict) for c in classes.values())):
        raise UsageError(f"{path} is not step 1's record of its tables (no 'tables' list or "
                         f"'classes' object); {remedy}")
    return record


def read_splits_of(db_path: Path, file_paths: list[str]) -> dict[str, str]:
    """The split of each of a few files (``<class>/<name>``); absent ones are left out."""
    return splits_of(db_path, file_paths)


def read_outcomes(pool_dir: Path, db_path: Path, folder: Path | None) -> dict[int, StepOutcome | None]:
    """What each step said as it ended (its status, why, warnings), when it kept it for this output."""
    return {1: read_outcome(1, pool_dir), 2: read_outcome(2, db_path),
            3: read_outcome(3, folder) if folder is not None else None}


@dataclass(kw_only=True)
class SpectrogramInputs:
    """Step 3's folder: its settings (or the default ones, without a folder) and failures."""

    folder: Path | None
    settings: dict[str, Any]
    config: SpectrogramConfig
    sha256: str
    failures: list[dict[str, str]]
    warnings: list[dict[str, Any]] = field(default_factory=list)  # warnings.json: per file
    windows: dict[str, dict[str, Any]] = field(default_factory=dict)  # windows.json: per spectrogram
    preset: str | None = None


def read_spectrogram_inputs(folder: Path | None) -> SpectrogramInputs:
    """``spectrogram_config.json``, ``failures.json``, ``warnings.json`` and ``windows.json`` of
    step 3, or the default settings."""
    if folder is None:
        config = SpectrogramConfig()
        return SpectrogramInputs(folder=None, settings={"spectrogram": config.to_dict()}, config=config,
                                 sha256="", failures=[])
    path = folder / CONFIG_FILENAME
    if not path.is_file():
        raise UsageError(f"{path} not found; give the --output-dir of pregenerate_spectrograms_simple.py, "
                         "or leave out --spectrogram-dir")
    remedy = "rerun pregenerate_spectrograms_simple.py"
    settings = load_json_file(path, remedy=remedy)
    try:
        config = SpectrogramConfig.from_dict(settings["spectrogram"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{path} is not readable ({exc!r}); {remedy}") from None
    failures = _listed(folder / FAILURES_FILENAME, remedy=remedy)
    warnings = _listed(folder / WARNINGS_FILENAME, remedy=remedy)
    windows = read_windows(folder, header={"sample_rate": config.sample_rate, "crop": config.crop,
                                           "pad": config.pad})
    preset = settings.get("animal_type") if isinstance(settings.get("animal_type"), str) else None
    return SpectrogramInputs(folder=folder, settings=settings, config=config, sha256=file_sha256(path),
                             failures=failures, warnings=warnings, windows=windows, preset=preset)


def _listed(path: Path, *, remedy: str) -> list[dict[str, Any]]:
    """A list file of step 3 (failures, warnings), read through the bounded reader: its objects;
    none when it is absent."""
    if not os.path.lexists(path):
        return []
    data = load_json_file(path, remedy=remedy)
    if not isinstance(data, list):
        raise UsageError(f"{path} is not a list; {remedy}")
    return [item for item in data if isinstance(item, dict)]


def step3_readers(folder: Path | None, index_db: Path) -> dict[str, Rows]:
    """Per split, the reader of the layout step 3 wrote it in (the layout registry's; the
    first one listed when the folder holds several); a split none can read is left out."""
    if folder is None:
        return {}
    readers = {}
    for split in SPLITS:
        for layout in layouts_holding(folder, split)[:1]:
            try:
                readers[split] = layout.open_rows(folder, split, read_labels(folder), index_db)
            except (NightScanError, OSError, ValueError, sqlite3.Error):
                pass
    return readers


def step3_array(readers: dict[str, Rows], split: str | None, class_name: str,
                file_name: str) -> np.ndarray | None:
    """Step 3's spectrogram of one pool file, (n_mels, frames), as the layout holds it, or
    None when it holds none (or an unreadable one: the report then computes it)."""
    reader = readers.get(split or "")
    if reader is None:
        return None
    try:
        array = reader.read(job_key(split, class_name, f"{class_name}/{file_name}"))
    except (NightScanError, OSError, ValueError, KeyError):
        return None
    if array is None:
        return None
    if array.ndim not in (2, 3) or array.size == 0:
        return None
    return array[0] if array.ndim == 3 else array


def read_analysed_window(path: Path, config: SpectrogramConfig) -> np.ndarray:
    """The window step 3 analyses (same crop and duration), mono float32 at its sample rate.

    ``AudioFileError`` (a ``NightScanError``) when the file is missing or unreadable.
    """
    return read_window(path, sample_rate=config.sample_rate, n_samples=config.n_samples,
                       crop=config.crop, hop_length=config.hop_length)


def mel_fraction(hz: float, config: SpectrogramConfig) -> float:
    """Where ``hz`` lies on the mel axis of ``config``'s spectrograms: 0 at fmin, 1 at fmax."""
    import librosa

    lo, hi, at = librosa.hz_to_mel([config.fmin, config.fmax, min(max(hz, config.fmin), config.fmax)])
    return float((at - lo) / (hi - lo))


def mel_middle(config: SpectrogramConfig) -> float:
    """The frequency in the middle of the mel axis, Hz (rounded), for a tile's middle tick."""
    import librosa

    lo, hi = librosa.hz_to_mel([config.fmin, config.fmax])
    return round(float(librosa.mel_to_hz((lo + hi) / 2)), -1)


def computed_spectrogram(window: np.ndarray, config: SpectrogramConfig) -> np.ndarray:
    """Step 3's log-mel spectrogram of the analysed window (when there is no step 3 output)."""
    return log_mel_spectrogram(window, config)
