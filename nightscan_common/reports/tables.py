"""The summary tables the front ends print: one function per step, from its report.

The report types are named for type checkers only: a front end that prints one step's
table does not import the other steps (and their libraries) to do so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cli import format_table
from ..execution.base import ClusterUse
from ..formats.spectrogram_folder import WARNINGS_FILENAME
from ..vocabulary import SPLITS

if TYPE_CHECKING:
    from ..steps.demo_data import DemoReport
    from ..steps.index import IndexReport
    from ..steps.pool import PoolReport
    from ..steps.spectrograms import SpectrogramReport

#: How many changed originals the summary names, per kind.
_SHOWN_CHANGES = 10


def pool_table(report: PoolReport, *, dry_run: bool) -> str:
    """Step 1: per class found, kept, augmentations, total, target; skips; what was written."""
    rows = []
    for plan in report.plans:
        lo, hi = plan.augmentations_per_original
        total = report.total(plan)  # what was written, once it was
        status = ("no audio" if plan.usable == 0 else "ok" if total >= plan.target
                  else f"short by {plan.target - total}")
        rows.append([plan.name, plan.usable, plan.kept, str(lo) if lo == hi else f"{lo}-{hi}",
                     total, status])
    lines = ["plan (nothing written):" if dry_run else "pool:",
             format_table(["class", "found", "kept", "aug/original", "total", "target"], rows)]
    for s in report.skipped + report.failed_tasks:
        lines.append(f"skipped: {s.path}: {s.reason}")
    for s in report.gated:
        lines.append(f"left out: {s.path}: {s.reason}")
    for copy, kept in report.duplicates.items():
        lines.append(f"duplicate: {copy} is the same recording as {kept}; left out")
    for names in report.cross_class:
        lines.append(f"in two classes: {' = '.join(names)}: one recording under two labels")
    for s in report.bad_noise:
        lines.append(f"noise file left out: {s.path}: {s.reason}")
    for cls, n in report.ignored.items():
        lines.append(f"ignored: {cls}: {n} non-audio file(s)")
    if not dry_run:
        changed = (report.originals_added, report.originals_removed, report.originals_changed)
        if any(changed):
            lines.append("since the last run: originals " + ", ".join(
                f"{len(v)} {what}" for v, what in zip(changed, ("added", "removed", "changed"), strict=True)))
            for v, what in zip(changed, ("added", "removed", "changed"), strict=True):
                lines += [f"  {what}: {path}" for path in v[:_SHOWN_CHANGES]]
                if len(v) > _SHOWN_CHANGES:
                    lines.append(f"  {what}: ... and {len(v) - _SHOWN_CHANGES} more")
        lines.append("already complete: nothing to do" if report.already_complete else
                     f"files: {report.reused} kept, {report.written} made, {report.removed} removed, "
                     f"{report.seconds:.1f} s")
    return "\n".join(lines + _cluster_lines(report.cluster))


def index_table(report: IndexReport, *, eval_originals_only: bool = False) -> str:
    """The per-class table, the leakage check and the warnings, as printed on stdout."""
    headers = ["class", *SPLITS, "total", *(f"{s} orig+aug" for s in SPLITS), "deviation", "max dev",
               "largest group"]
    headers += ["dropped"] if eval_originals_only else []
    rows = []
    for c in report.classes:
        row = [c.name, *c.rows, sum(c.rows),
               *(f"{o}+{a}" for o, a in zip(c.originals, c.augmented, strict=True)),
               "/".join(f"{d:+d}" for d in c.deviation), c.plan.max_deviation, c.largest_group]
        rows.append(row + ([c.dropped] if eval_originals_only else []))
    totals = [sum(r[i] for r in rows) for i in range(1, 5)]
    orig = [sum(c.originals[i] for c in report.classes) for i in range(len(SPLITS))]
    aug = [sum(c.augmented[i] for c in report.classes) for i in range(len(SPLITS))]
    all_row = ["all", *totals, *(f"{o}+{a}" for o, a in zip(orig, aug, strict=True)), "",
               max((c.plan.max_deviation for c in report.classes), default=0),
               max((c.largest_group for c in report.classes), default=0)]
    rows.append(all_row + ([sum(c.dropped for c in report.classes)] if eval_originals_only else []))
    lines = [format_table(headers, rows), "",
             f"deviation: each split's samples minus its share of the class ({'/'.join(SPLITS)}); "
             "max dev: the largest; largest group: the class's samples in its largest group, "
             "which bounds the deviation",
             f"leakage check: {report.leaking_groups} group(s) in more than one split",
             report.check.line()]
    if report.shared_groups:
        lines.append(f"groups that hold several classes: {len(report.shared_groups)}, each in one split "
                     "for all its classes")
    if eval_originals_only:
        lines.append("dropped: augmentations of val and test groups, left out by --eval-originals-only")
    if report.warnings:
        lines += [f"warnings ({len(report.warnings)}):"] + [f"  - {w}" for w in report.warnings]
    if report.kept is not None:
        k = report.kept
        lines.append(f"splits kept from {k.kept_from}: " + "; ".join(
            f"{what} " + ", ".join(f"{n} {how}" for how, n in counts.items())
            for what, counts in (("groups", k.groups), ("files", k.files))))
        lines += [f"  moved (forced by a merge): {m}" for m in k.moves]
        lines += [f"  found by content under a new name, split kept: {m}" for m in k.renamed]
        lines += [f"  relabelled (found by content in another class), split kept: {m}" for m in k.relabelled]
    state = "written" if report.written else "already up to date, left as it was"
    lines.append(f"index {report.db_path}: {state}")
    return "\n".join(lines)


def spectrogram_table(report: SpectrogramReport) -> str:
    """The table printed at the end: per split written, skipped as done, failed."""
    rows = [(split, c.written, c.skipped, c.failed, c.written + c.skipped + c.failed)
            for split, c in report.counts.items()]
    totals = [sum(r[i] for r in rows) for i in range(1, 5)]
    table = format_table(["split", "written", "skipped (done)", "failed", "total"],
                             rows + [("all", *totals)])
    kept = totals[1]
    lines = [table, "", f"output: {report.out_dir}, {report.layout} layout "
                        f"({_size(report.bytes_on_disk)} on disk)",
             f"spectrograms: {kept} kept, {totals[0]} made ({report.recomputed} of them recomputed: "
             f"their pool file changed), {report.removed} removed (no longer indexed)"]
    if report.failures:
        lines.append(f"failures: {len(report.failures)}, listed with their reason in {report.failures_path}")
    if report.rate_warnings:
        lines.append(f"rate warnings: {len(report.rate_warnings)} file(s), listed in "
                     f"{report.out_dir / WARNINGS_FILENAME}")
    return "\n".join(lines + _cluster_lines(report.cluster))


def _cluster_lines(cluster: ClusterUse | None) -> list[str]:
    """The Dask cluster that ran a step (``--scheduler``): its workers that took part, its dashboard."""
    if cluster is None:
        return []
    dashboard = f"; dashboard {cluster.dashboard}" if cluster.dashboard else ""
    return [f"Dask cluster {cluster.address}: {cluster.workers} worker(s) took part{dashboard}"]


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1000:
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def demo_table(report: DemoReport) -> str:
    """Per class: recordings, sample rates, stereo and long files, formats."""
    from ..steps.demo_data import LONG_SECONDS

    rows = []
    for name, entry in report.manifest["classes"].items():
        files = entry["files"]
        rows.append([name, entry["call"], len(files),
                     ",".join(str(r) for r in sorted({f["samplerate"] for f in files})),
                     sum(f["channels"] > 1 for f in files),
                     sum(f["seconds"] > LONG_SECONDS for f in files),
                     ",".join(sorted({f["path"].rsplit(".", 1)[1].lower() for f in files}))])
    totals = report.manifest["totals"]
    state = (f"written in {report.seconds:.1f} s" if report.written
             else "already there with this seed and scale: nothing to do")
    return "\n".join([
        format_table(["class", "call", "recordings", "sample rates (Hz)", "stereo",
                          f"> {LONG_SECONDS:g} s", "formats"], rows),
        f"demo data set {report.output_dir}: {totals['recordings']} recordings, "
        f"{totals['classes']} classes, {totals['bytes'] / 1e6:.1f} MB; {state}",
    ])
