"""Reading an augmented pool: its classes, their files, and the groups that must not be split.

A pool with file lists in ``pool_metadata.json`` is read from them, and the class
folders must hold exactly the files listed. Pools from NightScan's earlier scripts
(metadata without file lists, no metadata, or only a ``class_metadata/`` folder, which
is a class only when the metadata lists it) are
read by scanning the class folders and parsing the file names; there the stem of a
name (``x`` in ``x_original.wav``, ``x_aug001_noise.wav``) stands for its source.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..errors import AudioFileError, UsageError
from ..formats.pool_journal import JOURNAL_FILENAME
from ..formats.pool_metadata import (
    METADATA_FILENAME,
    BadEntry,
    FileRecord,
    load_pool_metadata,
    metadata_path,
    parse_pool_filename,
)
from ..io.atomic_write import is_temporary
from ..io.audio_files import list_classes, shown, storable
from ..io.file_hash import file_sha256
from ..io.run_lock import held_by_a_run

#: Folder of per-class metadata that NightScan's earlier scripts left in a pool: not a class.
LEGACY_METADATA_DIR = "class_metadata"
#: How many names an error or a warning quotes before "and N more".
EXAMPLES = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolFile:
    """One file of a class folder, and the original it comes from.

    ``source`` names the original recording: its path relative to the audio root's
    class folder when the metadata lists files, else the file name's stem.
    ``sha256`` and ``fingerprint`` (``Fingerprint.to_text``) are known for originals
    only, and only once read or recorded.
    """

    name: str
    is_augmented: bool
    source: str
    augmentation: str | None = None
    sha256: str | None = None
    fingerprint: str | None = None
    noise: str | None = None  # "<class>/<source>": the recording of the pool it was mixed with
    #: a window or clip of a longer recording: where it starts in it, and how long it is (s)
    offset_seconds: float | None = None
    seconds: float | None = None


@dataclass(kw_only=True)
class Pool:
    """A pool's classes (sorted) with their files (sorted by name)."""

    root: Path
    classes: dict[str, list[PoolFile]]
    listed: bool  # read from the metadata's file lists (else by scanning)
    metadata_sha256: str  # of pool_metadata.json, "" when there is none
    warnings: list[str] = field(default_factory=list)
    #: sources are paths relative to the audio root, not to the class folder (clips cut from
    #: recordings named in annotation tables, which hold events of several classes)
    root_relative: bool = False

    def listing_sha256(self) -> str:
        """A fingerprint of which files the pool holds, to tell a changed pool apart."""
        digest = hashlib.sha256()
        for name, files in self.classes.items():
            for f in files:
                digest.update(f"{name}/{f.name}\n".encode())
        return digest.hexdigest()


def examples(names: Sequence[str]) -> str:
    """``a, b, c and 4 more``: a few names of a long list, for one-line messages."""
    shown = ", ".join(names[:EXAMPLES])
    return shown + (f" and {len(names) - EXAMPLES} more" if len(names) > EXAMPLES else "")


def read_pool(pool_dir: str | os.PathLike, *, progress: bool = False) -> Pool:
    """Read a pool's classes and files; ``UsageError`` naming what is wrong with a bad one.

    Originals whose sha256 the metadata does not record are hashed here (they are
    what tells two copies of one recording apart from two recordings).
    """
    root = check_pool_dir(pool_dir)
    refuse_pool_being_written(root)
    metadata = load_pool_metadata(root, object_hook=_compact_entry)
    if metadata is None and (root / JOURNAL_FILENAME).exists():
        raise UsageError(f"{root} is a pool that create_augmented_pool.py has not finished (its "
                         f"{JOURNAL_FILENAME}, no {METADATA_FILENAME}): rerun step 1 to finish it first")
    described = metadata["classes"] if metadata is not None else {}
    folders = [c for c in list_classes(root) if c != LEGACY_METADATA_DIR or c in described]
    unstorable = [shown(c) for c in folders if not storable(c)]
    listings: dict[str, set[str]] = {}
    broken: list[str] = []
    temporaries = 0
    for c in tqdm([c for c in folders if storable(c)], desc="reading pool", unit="class",
                  disable=not progress, file=sys.stderr, leave=False):
        listings[c], unfollowed, bad_names, temps = _list_files(root / c)
        broken += [f"{c}/{name}" for name in unfollowed]
        unstorable += [f"{c}/{name}" for name in bad_names]
        temporaries += temps
    if metadata is None and temporaries:
        raise UsageError(f"{root} holds {temporaries} partial file(s) and no {METADATA_FILENAME}: "
                         "create_augmented_pool.py was stopped before it finished; rerun it first")
    listed = metadata is not None and any(isinstance(c, dict) and "files" in c
                                          for c in metadata["classes"].values())
    if listed:
        classes, warnings = _read_listed(metadata["classes"], listings, metadata_path(root))
    else:
        classes, warnings = _read_scanned(listings, root)
    if unstorable:
        warnings.append(f"{len(unstorable)} name(s) are not UTF-8 and cannot be stored in the index; "
                        f"left out (rename them): {examples(unstorable)}")
    if broken:
        warnings.append(f"{len(broken)} link(s) in the class folders lead nowhere (a loop of links or "
                        f"a missing target) and are left out: {examples(broken)}")
    _hash_originals(root, classes, progress=progress)
    warnings += _fingerprint_originals(root, classes, progress=progress)
    if not classes:
        raise UsageError(f"the pool {root} holds no files to index (every class is empty); "
                         "rebuild it with create_augmented_pool.py")
    sha = file_sha256(metadata_path(root)) if metadata is not None else ""
    params = metadata.get("params") if metadata is not None else None
    root_relative = isinstance(params, dict) and bool(params.get("annotations"))
    refuse_pool_being_written(root)  # a step 1 started while the pool was read changed it under us
    return Pool(root=root, classes=classes, listed=listed, metadata_sha256=sha, warnings=warnings,
                root_relative=root_relative)


def refuse_pool_being_written(root: Path) -> None:
    """``UsageError`` when step 1 is writing the pool now (it holds the pool's lock), or was
    stopped while rewriting it (its journal is as new as the metadata, or newer): the
    metadata beside it describes the pool as it was, not as it is."""
    if held_by_a_run(root, folder=True):
        raise UsageError(f"{root} is being written by create_augmented_pool.py (it holds the pool's "
                         "lock): wait for it to finish, then rerun")
    try:
        journal = (root / JOURNAL_FILENAME).stat().st_mtime_ns
        metadata = metadata_path(root).stat().st_mtime_ns
    except OSError:
        return  # no journal (a finished pool), or no metadata (refused by the caller)
    if journal >= metadata:
        raise UsageError(f"{root} is a pool that create_augmented_pool.py was rewriting and has not "
                         f"finished (its {JOURNAL_FILENAME} is newer than its {METADATA_FILENAME}): "
                         "rerun step 1 to finish it first")


def check_pool_dir(pool_dir: str | os.PathLike) -> Path:
    """The pool folder as a path; ``UsageError`` when it is missing or not a folder."""
    root = Path(pool_dir)
    if not root.exists():
        raise UsageError(f"pool folder not found: {root}")
    if not root.is_dir():
        raise UsageError(f"not a folder: {root} (give the pool's folder)")
    return root


def _list_files(folder: Path) -> tuple[set[str], list[str], list[str], int]:
    """The visible files of a class folder (links to files included), in one scandir;
    the names of links that lead nowhere (a missing target, or a loop of links), the
    names that are not UTF-8 (shown with escapes), and how many temporaries it holds."""
    files: set[str] = set()
    broken: list[str] = []
    unstorable: list[str] = []
    temporaries = 0
    with os.scandir(folder) as entries:
        for e in entries:
            if is_temporary(e.name):
                temporaries += 1
                continue
            if e.name.startswith("."):
                continue
            if not storable(e.name):
                unstorable.append(shown(e.name))
                continue
            try:
                if e.is_file():
                    files.add(e.name)
                elif e.is_symlink() and not e.is_dir():
                    broken.append(e.name)
            except OSError:  # ELOOP: following the link leads back to it
                broken.append(e.name)
    return files, sorted(broken), sorted(unstorable), temporaries


def _read_listed(meta_classes: Mapping[str, Any], listings: Mapping[str, set[str]],
                 where: Path) -> tuple[dict[str, list[PoolFile]], list[str]]:
    """Classes from the metadata's file lists, checked against the folders on disk."""
    unknown = sorted(set(listings) - set(meta_classes))
    if unknown:
        raise UsageError(f"{where} does not describe the class folders {examples(unknown)}; "
                         "rebuild the pool, or move those folders out of it")
    classes: dict[str, list[PoolFile]] = {}
    warnings: list[str] = []
    missing: list[str] = []
    extra: list[str] = []
    for name in sorted(meta_classes):
        entry = meta_classes[name]
        if not isinstance(entry, dict) or not isinstance(entry.get("files"), list):
            raise UsageError(f"{where}: class {name!r} has no file list; rebuild the pool")
        files = sorted((_listed_file(where, name, i, e) for i, e in enumerate(entry["files"])),
                       key=lambda f: f.name)
        _check_unique(where, name, files)
        on_disk = listings.get(name, set())
        listed_names = {f.name for f in files}
        missing += [f"{name}/{n}" for n in sorted(listed_names - on_disk)]
        extra += [f"{name}/{n}" for n in sorted(on_disk - listed_names)]
        if files:
            classes[name] = files
        else:
            warnings.append(f"class {name!r} has no files in {METADATA_FILENAME}; left out")
    if missing:
        raise UsageError(f"{len(missing)} file(s) listed in {METADATA_FILENAME} are missing from "
                         f"the pool: {examples(missing)}; rebuild the pool")
    if extra:
        raise UsageError(f"{len(extra)} file(s) in the pool are not listed in {METADATA_FILENAME}: "
                         f"{examples(extra)}; rebuild the pool, or move them out of it")
    return classes, warnings


def _file_from_entry(entry: Any) -> PoolFile:
    """One entry of a class's ``files`` list, checked by ``FileRecord`` (``BadEntry``).

    Strings that recur (sources, augmentation names) are interned: a large pool repeats
    each source a dozen times.
    """
    rec = FileRecord.from_dict(entry)
    source = sys.intern(rec.source)
    if rec.is_augmented:
        aug = rec.augmentation
        if aug is None and (parsed := parse_pool_filename(rec.filename)) is not None:
            aug = parsed.aug_type
        return PoolFile(name=rec.filename, is_augmented=True, source=source,
                        augmentation=sys.intern(aug) if isinstance(aug, str) else None,
                        noise=_noise_recording(rec.params))
    sha, fp = rec.sha256, rec.fingerprint
    offset_seconds, seconds = _span(rec)
    return PoolFile(name=rec.filename, is_augmented=False, source=source,
                    sha256=sha if isinstance(sha, str) and sha else None,
                    fingerprint=fp if isinstance(fp, str) and fp else None,
                    offset_seconds=offset_seconds, seconds=seconds)


def _span(rec: FileRecord) -> tuple[float | None, float | None]:
    """Where a window or clip lies in its recording, in seconds; (None, None) for a whole one."""
    start, frames, rate = rec.offset_seconds, rec.frames, rec.samplerate
    if rec.offset is None or not isinstance(start, int | float) or isinstance(start, bool):
        return None, None
    if isinstance(frames, int) and isinstance(rate, int) and rate > 0 and frames >= 0:
        return float(start), frames / rate
    return float(start), None


def _noise_recording(params: Any) -> str | None:
    """``<class>/<source>`` of the class recording a file was mixed with (``--background-noise-class``)."""
    if not isinstance(params, dict):
        return None
    cls, source = params.get("noise_class"), params.get("noise_file")
    return sys.intern(f"{cls}/{source}") if isinstance(cls, str) and isinstance(source, str) else None


def _compact_entry(obj: dict) -> Any:
    """``json`` object hook: a valid file entry becomes a ``PoolFile`` as soon as it is parsed.

    Kept as dicts with their augmentation parameters, 750,000 entries take over a
    gigabyte. Any other object, a bad entry included, stays a dict (a bad entry is
    reported later, with its class and position).
    """
    if "filename" in obj and "type" in obj:
        try:
            return _file_from_entry(obj)
        except BadEntry:
            pass
    return obj


def _listed_file(where: Path, class_name: str, i: int, entry: Any) -> PoolFile:
    """An entry of a file list as parsed: a ``PoolFile`` already, or a bad entry to report."""
    if isinstance(entry, PoolFile):
        return entry
    try:
        return _file_from_entry(entry)
    except BadEntry as exc:
        raise UsageError(f"{where}: class {class_name!r}, file entry {i}: {exc}; "
                         "rebuild the pool") from None


def _check_unique(where: Path, class_name: str, files: Sequence[PoolFile]) -> None:
    """A file listed twice would be indexed twice (``file_path`` is unique)."""
    twice = sorted({a.name for a, b in itertools.pairwise(files) if a.name == b.name})
    if twice:
        raise UsageError(f"{where}: class {class_name!r} lists {examples(twice)} more than once; "
                         "rebuild the pool")


def _read_scanned(listings: Mapping[str, set[str]],
                  root: Path) -> tuple[dict[str, list[PoolFile]], list[str]]:
    """Classes from the names in the class folders (pools without file lists)."""
    if not listings:
        raise UsageError(f"no class folders in {root}: is it a pool made by create_augmented_pool.py?")
    classes: dict[str, list[PoolFile]] = {}
    warnings: list[str] = []
    ignored: list[str] = []
    for name in sorted(listings):
        files = []
        for file_name in sorted(listings[name]):
            parsed = parse_pool_filename(file_name)
            if parsed is None:
                ignored.append(f"{name}/{file_name}")
            else:
                files.append(PoolFile(name=file_name, is_augmented=parsed.is_augmented, source=parsed.stem,
                                      augmentation=parsed.aug_type))
        if files:
            classes[name] = files
        else:
            warnings.append(f"class folder {name!r} holds no pool files; left out")
    if ignored:
        warnings.append(f"{len(ignored)} file(s) are not named like pool files and are left out: "
                        f"{examples(ignored)}")
    if not classes:
        raise UsageError(f"no pool files (<stem>_original.<ext>, <stem>_aug<NNN>_<type>.wav) in the "
                         f"class folders of {root}")
    return classes, warnings


def _hash_originals(root: Path, classes: dict[str, list[PoolFile]], *, progress: bool) -> None:
    """Fill in, in place, the sha256 of originals that the metadata does not record."""
    todo = [(c, i) for c, files in classes.items() for i, f in enumerate(files)
            if not f.is_augmented and f.sha256 is None]
    for c, i in tqdm(todo, desc="hashing originals", unit="file", disable=not progress or not todo,
                     file=sys.stderr, leave=False):
        f = classes[c][i]
        classes[c][i] = dataclasses.replace(f, sha256=file_sha256(root / c / f.name))


def _fingerprint_originals(root: Path, classes: dict[str, list[PoolFile]], *, progress: bool) -> list[str]:
    """Fill in, in place, the fingerprint of originals that the metadata does not record
    (pools from earlier versions); return a warning for those that cannot be decoded."""
    from ..dsp.audit import fingerprint_file  # here: a pool of this version needs no decoding

    todo = [(c, i) for c, files in classes.items() for i, f in enumerate(files)
            if not f.is_augmented and f.fingerprint is None]
    failed: list[str] = []
    for c, i in tqdm(todo, desc="fingerprinting originals", unit="file", disable=not progress or not todo,
                     file=sys.stderr, leave=False):
        f = classes[c][i]
        try:
            classes[c][i] = dataclasses.replace(f, fingerprint=fingerprint_file(root / c / f.name))
        except AudioFileError:
            failed.append(f"{c}/{f.name}")
    if failed:
        return [f"{len(failed)} original(s) cannot be decoded, so copies of them under other names "
                f"cannot be found: {examples(failed)}"]
    return []


def cross_class_duplicates(pool: Pool) -> list[list[str]]:
    """Originals with one content in two classes or more, as lists of pool-relative paths.

    Splitting is per class, so such copies cannot share a group: the caller reports them
    (one recording with two labels is usually a labelling mistake).
    """
    by_sha: dict[str, list[str]] = {}
    for name, files in pool.classes.items():
        for f in files:
            if f.sha256 is not None:
                by_sha.setdefault(f.sha256, []).append(f"{name}/{f.name}")
    return [paths for paths in by_sha.values()
            if len({p.split("/", 1)[0] for p in paths}) > 1]
