"""What step 1 records of a run: the pool's metadata, from the plan, the finished tasks and the probes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from .. import __version__
from ..formats.pool_metadata import FORMAT_VERSION, ORIGINAL, ClassEntry, FileRecord, PoolMetadata
from ..plans.pool_plan import ClassPlan
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
                              channels=p["channels"])
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
        skipped=[{"path": s.path, "reason": s.reason} for s in report.skipped + report.failed_tasks],
        totals={"classes": len(classes), "files": n_files, "originals": n_files - n_aug,
                "augmented": n_aug,
                "short_classes": sorted(c for c, e in classes.items() if not e["reached_target"]),
                "skipped": len(report.skipped) + len(report.failed_tasks)},
    ).to_dict()
