"""What step 1 records of a run: the pool's metadata, from the plan, the finished tasks and the probes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..formats.pool_metadata import FORMAT_VERSION, ORIGINAL, ClassEntry, FileRecord, PoolMetadata
from ..plans.pool_plan import ClassPlan
from ..reports import plain
from .pool_options import PoolReport, PoolRun


def class_entry(plan: ClassPlan, records: dict[tuple[str, str], list[FileRecord]],
                probes: dict) -> ClassEntry:
    lo, hi = plan.augmentations_per_original
    files = []
    for task in plan.tasks:
        for rec in records.get((plan.name, task.key), []):
            if rec.type == ORIGINAL and task.window is None and (plan.name, task.source) in probes:
                p = probes[(plan.name, task.source)]
                rec = replace(rec, sha256=p["sha256"], frames=p["frames"], samplerate=p["samplerate"],
                              channels=p["channels"], audit=p["audit"], fingerprint=p["fingerprint"])
            files.append(rec)
    return ClassEntry(original_count=plan.usable, selected_originals=plan.kept, augmentations_per_sample=hi,
                      augmentations_per_original={"min": lo, "max": hi}, total_count=len(files),
                      reached_target=len(files) >= plan.target, short_by=max(0, plan.target - len(files)),
                      files=files)


def build_metadata(opts: PoolRun, report: PoolReport, records: dict, probes: dict,
                   previous: dict | None) -> dict[str, Any]:
    """The pool's metadata; classes not in this run (``--specific-class``) are kept."""
    classes = dict((previous or {}).get("classes", {}))
    for plan in report.plans:
        classes[plan.name] = class_entry(plan, records, probes).to_dict()
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
        duplicates=report.duplicates, cross_class_duplicates=report.cross_class,
        bad_noise_files=[{"path": b.path, "reason": b.reason} for b in report.bad_noise],
    ).to_dict()
