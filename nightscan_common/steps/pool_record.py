"""What step 1 records of a run: the pool's metadata, from the plan, the finished tasks and the probes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..formats.pool_metadata import FORMAT_VERSION, ORIGINAL, ClassEntry, FileRecord, PoolMetadata
from ..formats.source_cache import listing_sha256
from ..plans.pool_plan import ClassPlan
from ..vocabulary import plain
from .pool_options import PoolReport, PoolRun, Skipped
from .pool_rerun import noise_version


def class_entry(plan: ClassPlan, records: dict[tuple[str, str], list[FileRecord]],
                probes: dict, clip_events: dict | None = None) -> ClassEntry:
    """A class's entry; ``clip_events`` (``--annotations``): the events of each clip, by (class, task key),
    recorded on the clip's original."""
    lo, hi = plan.augmentations_per_original
    files = []
    for task in plan.tasks:
        for rec in records.get((plan.name, task.key), []):
            if rec.type == ORIGINAL and task.window is None and (plan.name, task.source) in probes:
                p = probes[(plan.name, task.source)]  # the sha256 is that of the bytes placed
                rec = replace(rec, frames=p.frames, samplerate=p.samplerate, channels=p.channels,
                              audit=dict(p.audit), fingerprint=p.fingerprint)
            if rec.type == ORIGINAL and clip_events and (plan.name, task.key) in clip_events:
                rec = replace(rec, events=clip_events[(plan.name, task.key)])
            files.append(rec)
    return ClassEntry(original_count=plan.usable, selected_originals=plan.kept, augmentations_per_sample=hi,
                      augmentations_per_original={"min": lo, "max": hi}, total_count=len(files),
                      reached_target=len(files) >= plan.target, short_by=max(0, plan.target - len(files)),
                      files=files)


def version_record(opts: PoolRun, sources: dict[str, dict], skipped: list[Skipped]) -> dict[str, Any]:
    """What the pool was made from: every audio file of the root (class path, sha256; skipped
    ones with none) and the noise it mixes in, as checksums that two builds of one root share."""
    o = opts.options
    listing = [(k, v["probe"]["sha256"]) for k, v in sources.items()] + [(s.path, "") for s in skipped]
    noise_class = o.background_noise_class if "background_noise" in o.augmentations else None
    in_class = [(k, v["probe"]["sha256"]) for k, v in sources.items() if k.split("/", 1)[0] == noise_class]
    folders = {"background_noise": o.background_noise_dir, "short_noises": o.short_noise_dir}
    return {"audio_root": {"files": len(listing), "sha256": listing_sha256(listing)},
            "background_noise": noise_version(folders, in_class, o.augmentations)}


def build_metadata(opts: PoolRun, report: PoolReport, records: dict, probes: dict,
                   kept: dict, inputs: dict) -> dict[str, Any]:
    """The pool's metadata; ``kept``: classes not in this run (``--specific-class``) kept as
    they were; ``inputs``: the version record (checksums of the audio root and noise folder)."""
    classes = dict(kept)
    for plan in report.plans:
        classes[plan.name] = class_entry(plan, records, probes, report.clip_events).to_dict()
    classes = dict(sorted(classes.items()))
    n_aug = sum(1 for e in classes.values() for f in e["files"] if f["type"] != ORIGINAL)
    n_files = sum(e["total_count"] for e in classes.values())
    return PoolMetadata(
        format_version=FORMAT_VERSION,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tool_version=__version__,
        params=opts.identity(),
        target_samples_per_class=opts.options.target_samples,
        classes=classes,
        skipped=[plain(s) if s.audit else {"path": s.path, "reason": s.reason}
                 for s in sorted(report.skipped + report.gated + report.failed_tasks, key=lambda s: s.path)],
        totals={"classes": len(classes), "files": n_files, "originals": n_files - n_aug,
                "augmented": n_aug,
                "short_classes": sorted(c for c, e in classes.items() if not e["reached_target"]),
                "skipped": len(report.skipped) + len(report.gated) + len(report.failed_tasks)},
        inputs=inputs,
        duplicates=report.duplicates, cross_class_duplicates=report.cross_class,
        bad_noise_files=[{"path": b.path, "reason": b.reason} for b in report.bad_noise],
    ).to_dict()
