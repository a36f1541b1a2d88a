#!/usr/bin/env python3
"""Make the demo data set: synthetic night recordings shaped like real field data.

Writes one folder per class, as the three steps expect of an audio root, so that the
toolkit can be tried on any machine without recordings of one's own. The same --seed
and --scale give the same bytes. Run with --help for the options.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence

from nightscan_common import cli
from nightscan_common.errors import UsageError
from nightscan_common.reports import tables
from nightscan_common.steps.demo_data import (
    DEFAULT_OUTPUT_DIR,
    DEFAULT_SCALE,
    DEFAULT_SEED,
    DEMO_CLASSES,
    MANIFEST_FILENAME,
    MAX_SCALE,
    MIN_RECORDINGS,
    check_scale,
    make_demo_data,
)


def _classes_table() -> str:
    rows = []
    for dc in DEMO_CLASSES:
        rates = sorted({v.samplerate for v in dc.variants})
        rows.append([dc.name, dc.count, dc.call, "/".join(f"{r / 1000:g}k" for r in rates),
                     "yes" if any(v.channels > 1 for v in dc.variants) else "-",
                     f"{max(v.seconds[1] for v in dc.variants):g}"])
    return cli.format_table(["class", "recordings", "call", "sample rates", "stereo", "max s"], rows)


EXAMPLE = f"""  python make_demo_data.py --output-dir data/demo_audio
  python create_augmented_pool.py --audio-root data/demo_audio \\
      --output-dir data/demo/augmented_pool --target-samples 60
  (or all three steps on it: ./run_pipeline.sh --demo)

the data set at --scale 1 (--scale multiplies the recordings, at least {MIN_RECORDINGS} per class):
{_classes_table()}
sub-folders stand for recording nights; WAV (16- and 24-bit) and FLAC; gryllus has an
AudioMoth-style CONFIG.TXT beside its recordings, which the steps ignore. {MANIFEST_FILENAME}
lists every file; a folder without it is never overwritten (exit status 2), and an
interrupted run leaves nothing under the final name."""


def _scale(text: str) -> float:
    try:
        return check_scale(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--scale ")) from None


def build_parser() -> argparse.ArgumentParser:
    p = cli.make_parser("make_demo_data.py", __doc__.splitlines()[0], EXAMPLE)
    p.add_argument("--output-dir", default=str(DEFAULT_OUTPUT_DIR), metavar="DIR",
                   help="the demo audio root to write (default: %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help="the same seed gives the same files (default: %(default)s)")
    p.add_argument("--scale", type=_scale, default=DEFAULT_SCALE, metavar="X",
                   help=f"recordings per class times X, from above 0 to {MAX_SCALE:g}; 0.2 makes a "
                        "quick set for tests (default: %(default)s)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a demo data set made with another seed or scale")
    return p



def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cli.configure_logging(args.verbose, args.quiet)

    def body() -> int:
        start = time.monotonic()
        report = make_demo_data(args.output_dir, seed=args.seed, scale=args.scale,
                                overwrite=args.overwrite, progress=not args.quiet)
        report = dataclasses.replace(report, seconds=time.monotonic() - start)
        print(tables.demo_table(report))
        return report.status

    return cli.run_main(body)


if __name__ == "__main__":
    sys.exit(main())
