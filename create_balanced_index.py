#!/usr/bin/env python3
# ruff: noqa: E402  (the signal handlers come before the imports)
"""Step 2: split an augmented pool into train/val/test by whole groups over all classes, into SQLite."""

from __future__ import annotations

if __name__ == "__main__":  # first: a stop while the imports below run is a clean stop too
    from nightscan_common.startup import stop_cleanly_during_startup

    stop_cleanly_during_startup()

import argparse
import os
import sys
from collections.abc import Sequence

from nightscan_common.cli import (
    configure_logging,
    make_parser,
    run_main,
    run_options,
)
from nightscan_common.errors import UsageError
from nightscan_common.formats.step_outcome import StepOutcome, write_outcome
from nightscan_common.plans.grouping import compile_group_pattern
from nightscan_common.plans.split_plan import check_ratios
from nightscan_common.reports import tables
from nightscan_common.reports.outcomes import index_why
from nightscan_common.steps.index import (
    DEFAULT_OUTPUT_DB,
    IndexOptions,
    run_index,
)
from nightscan_common.vocabulary import SPLITS

EXAMPLE = r"""  python create_balanced_index.py --pool-dir data/augmented_pool \
      --output-db balanced_audio_index.db --train-split 0.8 --val-split 0.1 --test-split 0.1

  # keep each site's recordings (site12_0412.wav, ...) in one split; val/test originals only
  python create_balanced_index.py --pool-dir data/augmented_pool \
      --group-pattern '^(site\d+)_' --eval-originals-only"""


def build_parser() -> argparse.ArgumentParser:
    """The options; every default comes from ``IndexOptions`` or ``run_index``."""
    defaults = IndexOptions()
    parser = make_parser(
        "create_balanced_index.py",
        "Split an augmented pool into train/val/test by whole groups (a recording, its\n"
        "windows or clips and all their augmentations, in every class, never straddle two\n"
        "splits; nor do a --group-pattern key or one content under two names), each class\n"
        "as close to the ratios as whole groups allow, and write the SQLite index that\n"
        "spectrogram generation and training read; the written index is then checked.",
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
                        help="also keep together recordings whose source path gives the same key "
                             "(the first capture group, else the whole match), e.g. one site's or "
                             "one night's recordings, in every class at once")
    parser.add_argument("--eval-originals-only", action="store_true",
                        default=defaults.eval_originals_only,
                        help="leave the augmentations of val and test groups out of the index")
    parser.add_argument("--strict", action="store_true", default=defaults.strict,
                        help="make the warnings that mean a wrong data set fatal (exit 2, no index "
                             "written): a class with an empty split, one recording in two classes")
    parser.add_argument("--keep-splits-from", metavar="OLD.db",
                        help="an older index of this data set: every group it holds keeps its split, "
                             "new groups fill the splits toward their ratios (a merged group that "
                             "straddled splits goes where val and test get nothing from train; "
                             "each such move is reported); may be --output-db itself")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing index made from another pool or with other options")
    return parser


def options_from_args(args: argparse.Namespace) -> IndexOptions:
    return IndexOptions(ratios=(args.train_split, args.val_split, args.test_split),
                        seed=args.random_seed, group_pattern=args.group_pattern,
                        eval_originals_only=args.eval_originals_only, strict=args.strict)


def check_args(args: argparse.Namespace) -> None:
    """What ``run_index`` would refuse before reading the pool (``UsageError``)."""
    options = options_from_args(args)
    check_ratios(options.ratios)
    compile_group_pattern(options.group_pattern)
    if args.keep_splits_from is not None and not os.path.isfile(args.keep_splits_from):
        raise UsageError(f"--keep-splits-from {args.keep_splits_from}: index database not found")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    options = options_from_args(args)

    def body() -> int:
        report = run_index(args.pool_dir, args.output_db, options, run=run_options(args),
                           keep_splits_from=args.keep_splits_from, overwrite=args.overwrite)
        write_outcome(report.db_path, StepOutcome(step=2, status=report.status, why=index_why(report),
                                                  warnings=list(report.warnings),
                                                  cross_class=report.cross_class))
        print(tables.index_table(report, eval_originals_only=options.eval_originals_only))
        for problem in report.check.problems():
            print(f"error: the written index fails the split check: {problem}", file=sys.stderr)
        return report.status

    return run_main(body)



if __name__ == "__main__":
    sys.exit(main())
