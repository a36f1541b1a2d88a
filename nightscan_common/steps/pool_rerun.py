"""Step 1 on a pool that exists: which planned files it holds already, what to make, what to remove.

A planned file is kept when the pool holds it as the plan wants it: the same name,
source, augmentation and seed, made from the same bytes of its original (its sha256)
and, for the augmentations that mix in ``--background-noise-dir``, from the same noise
folder (its listing's checksum). Everything else is made again; pool-named files that
the new plan does not list are removed, never anything else and never through a link.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..dsp.augmentations import AUGMENTATION_TYPES
from ..formats.pool_metadata import ORIGINAL, FileRecord, parse_pool_filename
from ..formats.source_cache import file_identity, listing_sha256, read_sources
from ..io.audio_files import scan_audio_files
from ..io.file_hash import file_sha256
from ..plans.pool_plan import ClassPlan, SourceTask
from .pool_worker import WorkItem


@dataclass(frozen=True)
class Prior:
    """An original's files as an earlier run recorded them, and the noise folder they saw."""

    records: list[FileRecord]
    noise: str | None


def trusted_entries(output_dir: Path, paths: Mapping[str, tuple[str, str]]) -> dict[str, dict]:
    """The recorded checks of files (path -> (class, rel)) whose size, mtime and inode are unchanged."""
    cached = read_sources(output_dir) if output_dir.is_dir() else {}
    out = {}
    for path, (c, rel) in paths.items():
        entry = cached.get(f"{c}/{rel}")
        try:
            if entry is not None and entry["identity"] == file_identity(path):
                out[path] = {**entry["probe"], "identity": entry["identity"]}
        except OSError:
            pass
    return out


def noise_sha_of(record: Mapping[str, Any] | None) -> str | None:
    """The noise folder's checksum in a metadata's (or journal header's) ``inputs``."""
    return (((record or {}).get("inputs") or {}).get("background_noise") or {}).get("sha256")


def uses_noise(augmentation: str | None) -> bool:
    """The type reads recordings of noise (a folder, or a class of the root)."""
    return augmentation is not None and AUGMENTATION_TYPES[augmentation].folder_option is not None


def noise_version(folders: Mapping[str, Path | None], noise_class: Iterable[tuple[str, str]],
                  augmentations: Iterable[str]) -> dict[str, Any] | None:
    """The noise folders' listings and each file's content, and the recordings of a
    ``--background-noise-class`` (path, sha256), as one checksum (None if no noise is used)."""
    if not any(uses_noise(a) for a in augmentations):
        return None
    entries = [(f"{tag}/{rel}", file_sha256(folder / rel)) for tag, folder in sorted(folders.items())
               if folder is not None for rel in scan_audio_files(folder).audio]
    entries += [(f"class/{path}", sha) for path, sha in noise_class]
    return {"files": len(entries), "sha256": listing_sha256(entries)}


def priors(meta_done: Mapping[tuple[str, str], list[FileRecord]], meta_noise: str | None,
           journal_done: Mapping[tuple[str, str], list[FileRecord]], journal_noise: str | None,
           ) -> dict[tuple[str, str], Prior]:
    """What the metadata and then the journal (newer) say each original's files are."""
    out = {k: Prior(v, meta_noise) for k, v in meta_done.items()}
    out.update({k: Prior(v, journal_noise) for k, v in journal_done.items()})
    return out


def _original_in_place(target: Path, source: Path, link_mode: str, size: int) -> bool:
    """Whether ``target`` is the original's copy or link as ``link_mode`` makes it."""
    try:
        if link_mode == "symlink":
            return target.is_symlink() and os.readlink(target) == os.path.abspath(source)
        if target.is_symlink() or not target.is_file():
            return False
        if link_mode == "hardlink":
            return os.path.samefile(target, source)
        return target.stat().st_size == size
    except OSError:
        return False


def reuse(task: SourceTask, prior: Prior | None, *, sha256: str, size: int, noise: str | None,
          class_dir: Path, source: Path, link_mode: str) -> tuple[dict[str, FileRecord], WorkItem | None]:
    """The records of the task's files the pool holds as planned, and the work left (or None)."""
    kept: dict[str, FileRecord] = {}
    if task.window is None and prior is not None and prior.records and prior.records[0].type == ORIGINAL \
            and prior.records[0].sha256 == sha256:  # a window's record holds the window's sha256
        by_name = {r.filename: r for r in prior.records}
        for planned in task.files:
            rec = by_name.get(planned.filename)
            if rec is None or rec.source != task.source or rec.type != planned.kind:
                continue
            target = class_dir / planned.filename
            if planned.kind == ORIGINAL:
                if _original_in_place(target, source, link_mode, size):
                    kept[planned.filename] = rec
            elif (rec.augmentation == planned.augmentation and rec.seed == planned.seed
                  and (not uses_noise(planned.augmentation) or prior.noise == noise)
                  and target.is_file() and not target.is_symlink()):
                kept[planned.filename] = rec
    make = tuple(f for f in task.augmentations if f.filename not in kept)
    place = task.original.filename not in kept
    item = WorkItem(task=task, make=make, place_original=place, sha256=sha256) if make or place else None
    return kept, item


def plan_work(plans: Iterable[ClassPlan], probes: Mapping[tuple[str, str], dict],
              prior: Mapping[tuple[str, str], Prior], *, noise: str | None, output_dir: Path,
              audio_root: Path, link_mode: str) -> tuple[dict, dict, list[WorkItem]]:
    """Per original: its records when nothing is left to make, the files kept, and the work left."""
    records, kept_files, todo = {}, {}, []
    for task in (t for plan in plans for t in plan.tasks):
        key = (task.class_name, task.key)
        probe = probes[(task.class_name, task.source)]
        kept, item = reuse(task, prior.get(key), sha256=probe.sha256, size=probe.identity[0],
                           noise=noise, class_dir=output_dir / task.class_name,
                           source=audio_root / task.class_name / task.source, link_mode=link_mode)
        kept_files[key] = kept
        if item is not None and task.window is not None:  # the check hashed it; the windows compare
            item = replace(item, identity=tuple(probe.identity))
        if item is None:
            records[key] = merge(task, kept, [])
        else:
            todo.append(item)
    # Longest first: a long recording with many augmentations must not be the last task
    # left while the other workers idle. Outputs do not depend on the order.
    todo.sort(key=lambda w: -(w.task.window.frames if w.task.window else
                              probes[(w.task.class_name, w.task.source)].frames) * (1 + 20 * len(w.make)))
    return records, kept_files, todo


def merge(task: SourceTask, kept: Mapping[str, FileRecord], made: Iterable[FileRecord]) -> list[FileRecord]:
    """The task's records in plan order, from those kept and those just made."""
    by_name = {**kept, **{r.filename: r for r in made}}
    return [by_name[f.filename] for f in task.files]


def remove_stale(output_dir: Path, wanted: Mapping[str, Iterable[str]]) -> int:
    """Remove pool-named files that ``wanted`` (class -> file names) does not list; return how many.

    Class folders that are links are not entered; a folder left empty goes too.
    """
    removed = 0
    for cls_dir in sorted(output_dir.iterdir()):
        if cls_dir.name.startswith(".") or cls_dir.is_symlink() or not cls_dir.is_dir():
            continue
        keep = set(wanted.get(cls_dir.name, ()))
        for f in sorted(cls_dir.iterdir()):
            if f.name not in keep and parse_pool_filename(f.name) and (f.is_symlink() or f.is_file()):
                f.unlink()
                removed += 1
        if cls_dir.name not in wanted and not any(cls_dir.iterdir()):
            cls_dir.rmdir()
    return removed


def source_changes(before: Mapping[str, dict], after: Mapping[str, dict],
                   classes: Iterable[str], gone: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Originals added, removed and changed (``<class>/<path>``) in ``classes`` and the classes gone."""
    scope = set(classes) | set(gone)
    old = {k: v["probe"]["sha256"] for k, v in before.items() if k.split("/", 1)[0] in scope}
    new = {k: v["probe"]["sha256"] for k, v in after.items() if k.split("/", 1)[0] in scope}
    return (sorted(new.keys() - old.keys()), sorted(old.keys() - new.keys()),
            sorted(k for k in old.keys() & new.keys() if old[k] != new[k]))
