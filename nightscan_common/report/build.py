"""``build_report``: read the three steps' outputs, compute the record, write the report folder.

The folder gets ``report.json`` (the record), ``report.html`` (the page, which embeds
everything it shows) and ``figures/*.png`` (the page's plots, for slides and papers).
Each file is written under a temporary name and renamed into place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import data, html, listen, plots
from .inputs import (
    METADATA_FILENAME,
    POOL_SHA_KEY,
    TOOL_VERSION,
    UsageError,
    check_index_pool,
    is_inside,
    read_annotations,
    read_index_inputs,
    read_outcomes,
    read_pool_inputs,
    read_spectrogram_inputs,
    write_bytes,
)
from .record import Report, Settings

DEFAULT_OUTPUT_DIR = "data/report"
HTML_NAME, JSON_NAME, FIGURES_DIR = "report.html", "report.json", "figures"
#: leaking groups named in the record (the count is always exact)
LEAK_EXAMPLES = 20


@dataclass(frozen=True)
class ReportOptions:
    """What the report shows besides its inputs: the grid's size and seed, classes per figure."""

    listen: listen.ListenOptions = listen.ListenOptions()
    max_classes: int = plots.MAX_CLASSES
    allow_pool_mismatch: bool = False  # report on an index made from another pool (else refused)


@dataclass(frozen=True, kw_only=True)
class ReportResult:
    html_path: Path
    json_path: Path
    report: Report
    html_bytes: int
    unreadable: list[str]  # grid files that could not be read


def build_report(pool_dir: str | os.PathLike, index_db: str | os.PathLike,
                 spectrogram_dir: str | os.PathLike | None, output_dir: str | os.PathLike, *,
                 options: ReportOptions = ReportOptions()) -> ReportResult:
    """Write the report of a pool, its index and (optionally) step 3's folder to ``output_dir``.

    .. note:: ``report.html``, ``report.json`` and the figures in ``output_dir`` are
       replaced: a report is a view of its inputs, rebuilt from them each time.
       ``UsageError`` (nothing written) for a missing or corrupt input.
    """
    pool_root, db, out = Path(pool_dir), Path(index_db), Path(output_dir)
    spec_root = Path(spectrogram_dir) if spectrogram_dir is not None else None
    for name, folder in (("pool", pool_root), ("spectrogram", spec_root)):
        if folder is not None and folder.is_dir() and is_inside(out, folder):
            raise UsageError(f"--output-dir {out} is inside the {name} folder {folder}, which the report "
                             "never writes to; choose a folder outside it")
    pool = read_pool_inputs(pool_root)
    index = read_index_inputs(db, leak_examples=LEAK_EXAMPLES)
    check_index_pool(db, index.info.get(POOL_SHA_KEY), pool_root / METADATA_FILENAME, pool.sha256,
                     allow=options.allow_pool_mismatch)
    spectrograms = read_spectrogram_inputs(spec_root)
    outcomes = read_outcomes(pool_root, db, spec_root)
    balance = data.balance(pool)
    cross_sets = data.cross_class(pool, outcomes)
    cross = data.cross_splits(db, cross_sets)
    problems = data.problems(pool, spectrograms, cross_sets)
    summary = data.summary(pool, index, spectrograms, balance, problems, outcomes=outcomes, cross=cross)
    grid, media = listen.build(pool_root, db, pool, spectrograms, summary.short_classes, options.listen)
    settings = Settings(tool_version=TOOL_VERSION, step1=dict(pool.metadata.get("params") or {}),
                        step2={k: v for k, v in index.info.items() if k != "created_at"},
                        step3={k: v for k, v in spectrograms.settings.items() if k != "created_at"},
                        checksums=_checksums(pool.sha256, index.sha256, spectrograms.sha256))
    report = Report(summary=summary, balance=balance, splits=data.splits(pool, index, cross),
                    inputs=data.inputs(pool, spectrograms, problems),
                    augmentations=data.augmentations(pool), listen=grid, settings=settings,
                    bands=data.bands(spectrograms),
                    spectrogram_warnings=spectrograms.warnings,
                    annotations=data.annotations(pool, read_annotations(pool_root), db))
    figures = {"balance": plots.balance(balance, target=summary.target, limit=options.max_classes),
               "splits": plots.splits(report.splits, limit=options.max_classes),
               "inputs": plots.inputs(report.inputs),
               "augmentations": plots.augmentations(report.augmentations)}
    page = html.render(report, figures, media).encode("utf-8")
    for name, png in figures.items():
        write_bytes(out / FIGURES_DIR / f"{name}.png", png)
    write_bytes(out / JSON_NAME, report.to_json().encode("utf-8"))
    write_bytes(out / HTML_NAME, page)
    unreadable = [s.path for s in grid.samples() if s.error]
    return ReportResult(html_path=out / HTML_NAME, json_path=out / JSON_NAME, report=report,
                        html_bytes=len(page), unreadable=unreadable)


def _checksums(pool_sha: str, index_sha: str, spectrogram_sha: str) -> dict[str, str]:
    sums = {METADATA_FILENAME: pool_sha, "index database": index_sha}
    if spectrogram_sha:
        sums["spectrogram_config.json"] = spectrogram_sha
    return sums
