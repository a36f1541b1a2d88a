"""The augmented pool's on-disk contract: its file names and ``pool_metadata.json``.

A pool folder holds one sub-folder per class with ``<stem>_original<ext>`` (an
original's bytes) and ``<stem>_aug<NNN>_<type>.wav`` (its augmentations), and
``pool_metadata.json``::

    {"format_version": 1, "created_at": ..., "tool_version": ..., "params": {...},
     "target_samples_per_class": 500,
     "classes": {"<class>": ClassEntry},  "skipped": [{"path", "reason"}], "totals": {...},
     "inputs": {"audio_root": {"files", "sha256"}, "background_noise": {...} or null}}

written and read through the typed records below (``PoolMetadata``, ``ClassEntry``,
``FileRecord``, each with ``to_dict``/``from_dict``): this module is the format's one
owner. ``source`` is the original's path relative to its class folder, "/"-separated.
Pools written by NightScan's earlier scripts have no ``files`` lists; their file names
follow the same pattern, which ``parse_pool_filename`` reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..io.audio_files import storable
from ..io.bounded_json import load_json_file

METADATA_FILENAME = "pool_metadata.json"
FORMAT_VERSION = 1
ORIGINAL = "original"
AUGMENTED = "augmented"

_ORIGINAL_RE = re.compile(r"^(?P<stem>.+)_original(?P<ext>\.[^./]+)$", re.S)
_AUGMENTED_RE = re.compile(r"^(?P<stem>.+)_aug(?P<number>\d{3,})_(?P<type>[a-z][a-z0-9_]*)\.wav$",
                           re.S | re.I)


class BadEntry(ValueError):
    """A file entry that is not usable; the message says which field and why."""


@dataclass(frozen=True, kw_only=True)
class FileRecord:
    """One file of a class: an original's copy (with what its probe found) or an augmentation.

    Fields left None are not written: an original has no ``augmentation``, an original
    not probed has no ``sha256``, a legacy entry may lack the rest. An original's
    ``audit`` holds its measured levels (``Audit.to_dict`` without the fingerprint) and
    ``fingerprint`` its content fingerprint (``Fingerprint.to_text``, about 1.4 kB for
    8 s, 5 kB at most): step 2 groups copies of one recording by it.
    """

    filename: str
    type: str
    source: str
    sha256: str | None = None
    frames: int | None = None
    samplerate: int | None = None
    channels: int | None = None
    augmentation: str | None = None
    seed: int | None = None
    params: dict[str, Any] | None = None
    audit: dict[str, Any] | None = None
    fingerprint: str | None = None
    offset: int | None = None  # with --segment: the window's first frame in the source
    offset_seconds: float | None = None
    #: with --annotations, on a clip's original: each event in it (table, line, label, class,
    #: start and end in seconds of the recording, frequency bounds and confidence when given)
    events: list[dict[str, Any]] | None = None

    @property
    def is_augmented(self) -> bool:
        return self.type == AUGMENTED

    @property
    def key(self) -> str:
        """The task this file came from: its source, and its window's offset (``unit_key``)."""
        return unit_key(self.source, self.offset)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, entry: Any) -> FileRecord:
        """Check an entry field by field (``BadEntry``); unknown keys are ignored."""
        if not isinstance(entry, dict):
            raise BadEntry(f"expected an object, got {entry!r}")
        name, kind, source = entry.get("filename"), entry.get("type"), entry.get("source")
        if not isinstance(name, str) or not name or "/" in name or name in (".", ".."):
            raise BadEntry(f"'filename' must be a file name, got {name!r}")
        if kind not in (ORIGINAL, AUGMENTED):
            raise BadEntry(f"'type' must be {ORIGINAL!r} or {AUGMENTED!r}, got {kind!r}")
        if not isinstance(source, str) or not source:
            raise BadEntry(f"'source' must be the original's path, got {source!r}")
        for key in ("filename", "source", "augmentation"):
            if isinstance(entry.get(key), str) and not storable(entry[key]):
                raise BadEntry(f"{key!r} is not UTF-8 text, got {entry[key]!r}")
        if "params" in entry and not isinstance(entry["params"], dict | None):
            raise BadEntry(f"'params' must be an object, got {entry['params']!r}")
        return cls(filename=name, type=kind, source=source,
                   **{k: v for k, v in entry.items() if k in _OPTIONAL_FIELDS})


_OPTIONAL_FIELDS = frozenset(f.name for f in fields(FileRecord)) - {"filename", "type", "source"}


@dataclass(frozen=True, kw_only=True)
class ClassEntry:
    """One class of the pool: its counts against the target and its files in plan order."""

    original_count: int
    selected_originals: int
    augmentations_per_sample: int
    augmentations_per_original: dict[str, int]
    total_count: int
    reached_target: bool
    short_by: int
    files: list[FileRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self) if f.name != "files"},
                "files": [r.to_dict() for r in self.files]}

    @classmethod
    def from_dict(cls, entry: Any) -> ClassEntry:
        """Check a class entry field by field (``BadEntry`` naming the field)."""
        if not isinstance(entry, dict):
            raise BadEntry(f"expected an object, got {entry!r}")
        values = {}
        for f in fields(cls):
            if f.name not in entry:
                raise BadEntry(f"{f.name!r} is missing")
            value = entry[f.name]
            expected = _CLASS_FIELD_TYPES[f.name]
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise BadEntry(f"{f.name!r} must be {_TYPE_WORDS[expected]}, got {value!r}")
            values[f.name] = value
        files = []
        for i, e in enumerate(values.pop("files")):
            try:
                files.append(FileRecord.from_dict(e))
            except BadEntry as exc:
                raise BadEntry(f"file entry {i}: {exc}") from None
        return cls(**values, files=files)


_CLASS_FIELD_TYPES = {"original_count": int, "selected_originals": int, "augmentations_per_sample": int,
                      "augmentations_per_original": dict, "total_count": int, "reached_target": bool,
                      "short_by": int, "files": list}
_TYPE_WORDS = {int: "a whole number", bool: "true or false", dict: "an object", list: "a list"}


@dataclass(frozen=True, kw_only=True)
class PoolMetadata:
    """The whole ``pool_metadata.json``; ``created_at`` is the one field a rerun changes."""

    format_version: int
    created_at: str
    tool_version: str
    params: dict[str, Any]
    target_samples_per_class: int
    classes: dict[str, ClassEntry | dict[str, Any]]  # a dict: a class kept from an earlier run
    skipped: list[dict[str, Any]]  # path, reason; the audit for an original left out by the gate
    totals: dict[str, Any]
    #: copies of one recording within a class left out: path -> the path kept ("<class>/<source>")
    duplicates: dict[str, str] = field(default_factory=dict)
    #: originals of one content in two classes or more, each list sorted
    cross_class_duplicates: list[list[str]] = field(default_factory=list)
    #: files of --background-noise-dir left out: path (relative to it), reason
    bad_noise_files: list[dict[str, str]] = field(default_factory=list)
    #: The version record: checksums of what the pool was made from (``audio_root``: every
    #: audio file's class path and sha256; ``background_noise``: the noise folder's, or None).
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["classes"] = {k: v.to_dict() if isinstance(v, ClassEntry) else v
                          for k, v in self.classes.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PoolMetadata:
        return cls(**{f.name: data[f.name] for f in fields(cls)
                      if f.name not in ("classes", "inputs") and f.name in data},
                   inputs=data.get("inputs") or {},
                   classes={k: ClassEntry.from_dict(v) for k, v in data["classes"].items()})


def unit_key(source: str, offset: int | None) -> str:
    """``rec.wav`` for a whole recording, ``rec.wav@352800`` for its window from frame 352800."""
    return source if offset is None else f"{source}@{offset}"


def original_filename(stem: str, ext: str) -> str:
    """``x`` + ``.mp3`` -> ``x_original.mp3`` (the original keeps its format)."""
    return f"{stem}_original{ext}"


def augmented_filename(stem: str, number: int, aug_type: str) -> str:
    """``x``, 1, ``noise`` -> ``x_aug001_noise.wav``."""
    return f"{stem}_aug{number:03d}_{aug_type}.wav"


@dataclass(frozen=True, kw_only=True)
class PoolName:
    """What a pool file's name says of it."""

    stem: str
    is_augmented: bool
    number: int | None = None
    aug_type: str | None = None


def parse_pool_filename(name: str) -> PoolName | None:
    """Read a pool file name; None for a name that is neither pattern."""
    if m := _AUGMENTED_RE.match(name):
        return PoolName(stem=m["stem"], is_augmented=True, number=int(m["number"]),
                        aug_type=m["type"].lower())
    if m := _ORIGINAL_RE.match(name):
        return PoolName(stem=m["stem"], is_augmented=False)
    return None


def metadata_path(pool_dir: str | os.PathLike) -> Path:
    return Path(pool_dir) / METADATA_FILENAME


def load_pool_metadata(pool_dir: str | os.PathLike, *,
                       object_hook: Callable[[dict], Any] | None = None) -> dict[str, Any] | None:
    """The pool's metadata, or None when the pool has none; ``UsageError`` if unreadable.

    ``object_hook`` goes to ``json.loads``: it can turn each file entry into something
    smaller as it is parsed (a large pool's entries, kept as dicts, take gigabytes).
    """
    path = metadata_path(pool_dir)
    if not os.path.lexists(path):
        return None
    data = load_json_file(path, remedy="rebuild the pool", object_hook=object_hook)
    if not isinstance(data, dict) or not isinstance(data.get("classes", {}), dict):
        raise UsageError(f"{path} has no 'classes' mapping; is it a pool's metadata?")
    for key, kind in (("params", dict), ("skipped", list), ("totals", dict)):
        if key in data and not isinstance(data[key], kind):
            raise UsageError(f"{path}: {key!r} must be {_TYPE_WORDS[kind]}, got {data[key]!r}; "
                             "rebuild the pool")
    for name, entry in data.get("classes", {}).items():
        where = f"{path}: 'classes.{name}'"
        if not storable(name):
            raise UsageError(f"{where}: the class name is not UTF-8 text; rebuild the pool")
        if not isinstance(entry, dict):
            raise UsageError(f"{where} must be an object, got {entry!r}; rebuild the pool")
        if "files" in entry and not isinstance(entry["files"], list):
            raise UsageError(f"{where}.files must be a list, got {entry['files']!r}; rebuild the pool")
    return data


def class_entries(meta: dict[str, Any], pool_dir: str | os.PathLike) -> dict[str, ClassEntry]:
    """The typed classes of a pool written by step 1 (every field checked), or ``UsageError``
    naming the class and field."""
    out = {}
    for name, entry in meta.get("classes", {}).items():
        try:
            out[name] = ClassEntry.from_dict(entry)
        except BadEntry as exc:
            raise UsageError(f"{metadata_path(pool_dir)}: class {name!r}: {exc}; rebuild the pool, "
                             "or pass --overwrite") from None
    return out
