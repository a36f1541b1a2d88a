#!/usr/bin/env python3
# ruff: noqa: E402  (the signal handlers come before the imports)
"""The dataset report: a pool, its index and its spectrograms as one HTML page with plots and sound."""

from __future__ import annotations

if __name__ == "__main__":  # first: a stop while the imports below run is a clean stop too
    from nightscan_common.startup import stop_cleanly_during_startup

    stop_cleanly_during_startup()

import argparse
import sys
from collections.abc import Sequence

from nightscan_common.cli import (
    EXIT_OK,
    EXIT_PARTIAL,
    configure_logging,
    make_parser,
    non_negative_int,
    positive_int,
    run_main,
)
from nightscan_common.formats.provenance import ALLOW_POOL_MISMATCH
from nightscan_common.report import DEFAULT_OUTPUT_DIR, ListenOptions, ReportOptions, build_report

EXAMPLE = """  python make_report.py --pool-dir data/augmented_pool --index-db balanced_audio_index.db \\
      --spectrogram-dir data/spectrograms_balanced --output-dir data/report
  (then open data/report/report.html in a browser)"""


def build_parser() -> argparse.ArgumentParser:
    """The options; every default comes from ``ReportOptions`` / ``ListenOptions``."""
    defaults, grid = ReportOptions(), ListenOptions()
    parser = make_parser(
        "make_report.py",
        "Write report.html (one self-contained page: balance, splits and leakage, what went\n"
        "in, augmentations, spectrograms with sound, settings) and report.json (every figure\n"
        "the page shows) from the outputs of the three steps. Reads the pool metadata and\n"
        "the index; opens only the few audio files it plays. Exit status 1 when the index\n"
        "leaks a group (or one recording filed under two classes is in two splits) or a\n"
        "file to play could not be read (the report is written).",
        EXAMPLE,
    )
    parser.add_argument("--pool-dir", required=True, metavar="DIR",
                        help="the pool made by create_augmented_pool.py")
    parser.add_argument("--index-db", required=True, metavar="FILE",
                        help="the index made by create_balanced_index.py")
    parser.add_argument("--spectrogram-dir", metavar="DIR",
                        help="the output of pregenerate_spectrograms_simple.py (default: none; the "
                             "spectrograms shown are then computed with the general preset)")
    parser.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR, metavar="DIR",
                        help="where report.html, report.json and figures/ go (default: %(default)s)")
    parser.add_argument("--listen-classes", type=non_negative_int, default=grid.classes, metavar="N",
                        help="classes in the listen-and-look grid, short ones first (default: %(default)s)")
    parser.add_argument("--listen-originals", type=positive_int, default=grid.originals, metavar="N",
                        help="originals per class in the grid (default: %(default)s)")
    parser.add_argument("--listen-augmentations", type=non_negative_int, default=grid.augmentations,
                        metavar="N", help="augmentations beside each original (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=grid.seed, metavar="S",
                        help="seed of the grid's choice (default: %(default)s)")
    parser.add_argument(ALLOW_POOL_MISMATCH, action="store_true",
                        help="report on an index made from another pool than --pool-dir's (its "
                             "recorded checksum of pool_metadata.json differs): refused without it")
    parser.add_argument("--max-classes", type=positive_int, default=defaults.max_classes, metavar="N",
                        help="classes per bar chart; the tables list all (default: %(default)s)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    options = ReportOptions(ListenOptions(seed=args.seed, classes=args.listen_classes,
                                          originals=args.listen_originals,
                                          augmentations=args.listen_augmentations), args.max_classes,
                            allow_pool_mismatch=args.allow_pool_mismatch)

    def body() -> int:
        result = build_report(args.pool_dir, args.index_db, args.spectrogram_dir, args.output_dir,
                              options=options)
        s = result.report.summary
        if not args.quiet:
            print(f"{s.classes} classes, {s.samples} samples, target {s.target}, "
                  f"{len(s.short_classes)} short, {s.skipped} skipped, {s.leaking_groups} leaking groups, "
                  f"{s.cross_class} recording(s) in two classes, "
                  f"{s.duplicates} duplicates; page {result.html_bytes / 1e6:.1f} MB")
        for path in result.unreadable:
            print(f"warning: could not read {path} for the grid (shown as not readable)", file=sys.stderr)
        print(f"report: {result.html_path}")
        return EXIT_PARTIAL if result.unreadable or s.leaking_groups or s.cross_class_leaking else EXIT_OK

    return run_main(body)


if __name__ == "__main__":
    sys.exit(main())
