#!/usr/bin/env python3
"""Step 2: split each class of an augmented pool into train/val/test by whole groups, into SQLite."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nightscan_common.cli import (
    EXIT_OK,
    EXIT_PARTIAL,
    configure_logging,
    format_table,
    make_parser,
    run_main,
)
from nightscan_common.formats.index_db import SPLITS
from nightscan_common.steps.index import (
    DEFAULT_OUTPUT_DB,
    IndexOptions,
    IndexReport,
    build_index,
)

EXAMPLE = r"""  python create_balanced_index.py --pool-dir data/augmented_pool \
      --output-db balanced_audio_index.db --train-split 0.8 --val-split 0.1 --test-split 0.1

  # keep each site's recordings (site12_0412.wav, ...) in one split; val/test originals only
  python create_balanced_index.py --pool-dir data/augmented_pool \
      --group-pattern '^(site\d+)_' --eval-originals-only"""


def build_parser() -> argparse.ArgumentParser:
    """The options; every default comes from ``IndexOptions`` or ``build_index``."""
    defaults = IndexOptions()
    parser = make_parser(
        "create_balanced_index.py",
        "Split every class of an augmented pool into train/val/test by whole groups (an\n"
        "original and all its augmentations never straddle two splits), and write the\n"
        "SQLite index that spectrogram generation and training read.",
        EXAMPLE,
    )
    parser.add_argument("--pool-dir", required=True, metavar="DIR",
                        help="the pool made by create_augmented_pool.py")
    parser.add_argument("--output-db", default=DEFAULT_OUTPUT_DB, metavar="FILE",
                        help="the index to write (default: %(default)s)")
    for name, ratio in zip(SPLITS, defaults.ratios, strict=True):
        parser.add_argument(f"--{name}-split", type=float, default=ratio, metavar="R",
                            help=f"share of each class's samples in {name}; the three sum to 1 "
                                 "(default: %(default)s)")
    parser.add_argument("--random-seed", type=int, default=defaults.seed, metavar="S",
                        help="seed of the split; the same seed gives the same index (default: %(default)s)")
    parser.add_argument("--group-pattern", default=defaults.group_pattern, metavar="REGEX",
                        help="also keep together originals whose source path gives the same key "
                             "(the first capture group, else the whole match), e.g. one site's or "
                             "one night's recordings")
    parser.add_argument("--eval-originals-only", action="store_true",
                        default=defaults.eval_originals_only,
                        help="leave the augmentations of val and test groups out of the index")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing index made from another pool or with other options")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    options = IndexOptions(ratios=(args.train_split, args.val_split, args.test_split),
                           seed=args.random_seed, group_pattern=args.group_pattern,
                           eval_originals_only=args.eval_originals_only)

    def body() -> int:
        report = build_index(args.pool_dir, args.output_db, options, overwrite=args.overwrite,
                             progress=not args.quiet)
        print(summary(report, eval_originals_only=options.eval_originals_only))
        if report.leaking_groups:
            print(f"error: {report.leaking_groups} group(s) are in more than one split", file=sys.stderr)
            return EXIT_PARTIAL
        return EXIT_OK

    return run_main(body)


def summary(report: IndexReport, *, eval_originals_only: bool = False) -> str:
    """The per-class table, the leakage check and the warnings, as printed on stdout."""
    headers = ["class", *SPLITS, "total", *(f"{s} orig+aug" for s in SPLITS), "max dev"]
    headers += ["dropped"] if eval_originals_only else []
    rows = []
    for c in report.classes:
        row = [c.name, *c.rows, sum(c.rows),
               *(f"{o}+{a}" for o, a in zip(c.originals, c.augmented, strict=True)),
               c.plan.max_deviation]
        rows.append(row + ([c.dropped] if eval_originals_only else []))
    totals = [sum(r[i] for r in rows) for i in range(1, 5)]
    orig = [sum(c.originals[i] for c in report.classes) for i in range(len(SPLITS))]
    aug = [sum(c.augmented[i] for c in report.classes) for i in range(len(SPLITS))]
    all_row = ["all", *totals, *(f"{o}+{a}" for o, a in zip(orig, aug, strict=True)),
               max((c.plan.max_deviation for c in report.classes), default=0)]
    rows.append(all_row + ([sum(c.dropped for c in report.classes)] if eval_originals_only else []))
    lines = [format_table(headers, rows), "",
             "max dev: the largest gap, in samples, between a split and its share of the class",
             f"leakage check: {report.leaking_groups} group(s) in more than one split"]
    if eval_originals_only:
        lines.append("dropped: augmentations of val and test groups, left out by --eval-originals-only")
    if report.warnings:
        lines += [f"warnings ({len(report.warnings)}):"] + [f"  - {w}" for w in report.warnings]
    state = "written" if report.written else "already up to date, left as it was"
    lines.append(f"index {report.db_path}: {state}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
