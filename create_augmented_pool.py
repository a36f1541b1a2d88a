#!/usr/bin/env python3
# ruff: noqa: E402  (the signal handlers come before the imports)
"""Step 1 of the NightScan dataset toolkit: bring every class to exactly N samples.

Reads one folder per class of recordings, keeps or subsamples the originals and writes
audiomentations augmentations until each class holds --target-samples files, into a
pool folder with pool_metadata.json. Run with --help for the options.
"""

from __future__ import annotations

if __name__ == "__main__":  # first: a stop while the imports below run is a clean stop too
    from nightscan_common.startup import stop_cleanly_during_startup

    stop_cleanly_during_startup()

import argparse
import sys
from pathlib import Path
from typing import Any

from nightscan_common import cli
from nightscan_common.annotations.formats import FORMAT_CHOICES
from nightscan_common.dsp.animals import ANIMAL_RANGES
from nightscan_common.dsp.augmentations import AUGMENTATION_TYPES, parse_augmentation_list
from nightscan_common.errors import UsageError
from nightscan_common.execution.cluster import open_executor
from nightscan_common.formats.step_outcome import StepOutcome, write_outcome
from nightscan_common.reports import tables
from nightscan_common.reports.annotation_table import annotation_table
from nightscan_common.reports.outcomes import pool_why
from nightscan_common.steps.annotation_options import MULTI_LABEL, POINT_EVENTS, TABLE_TIMES, UNKNOWN_LABELS
from nightscan_common.steps.pool import run_pool
from nightscan_common.steps.pool_options import DEFAULT_OUTPUT_DIR, LINK_MODES, PoolOptions, check_content

_DEFAULTS = PoolOptions()

EXAMPLE = """  python create_augmented_pool.py --audio-root ~/NightScan/data/audio_data \\
      --output-dir ~/NightScan/data/augmented_pool --target-samples 500

from long recordings and their tables (Raven, BirdNET, Audacity, Kaleidoscope, CSV):
  python create_augmented_pool.py --audio-root ~/field/recordings --annotations ~/field/tables \
      --label-map labels.csv --min-confidence 0.5 --output-dir ~/NightScan/data/augmented_pool

plan rule, for a class of n usable recordings and target T:
  n >= T  keep T originals (seeded, spread over sub-folders), no augmentation
  n <  T  keep all; each gets floor or ceil of (T-n)/n augmentations, at most
          --max-augmentations; e.g. T=500: 40 recordings -> 11 or 12 each (500),
          100 -> 4 each (500), 10 -> 20 each (210, reported short of the target)

augmentation types (an original's augmentations cycle through them in order):
""" + "\n".join(f"  {n:<17}{t.summary}{'' if t.default else ' (opt-in)'}"
                for n, t in AUGMENTATION_TYPES.items()) + """

--animal-type: time_stretch rate, combined's rate, pitch_shift semitones
""" + "\n".join(f"  {n:<11}{r.stretch[0]:g}-{r.stretch[1]:g}  {r.light_stretch[0]:g}-{r.light_stretch[1]:g}  "
                 + ("never" if r.pitch is None else f"{r.pitch[0]:+g} to {r.pitch[1]:+g}")
                 for n, r in ANIMAL_RANGES.items())


def build_parser() -> argparse.ArgumentParser:
    p = cli.make_parser("create_augmented_pool.py", __doc__.splitlines()[0], EXAMPLE)
    p.add_argument("--audio-root", type=Path, required=True, metavar="DIR",
                   help="one sub-folder of recordings per class (searched at any depth); with "
                   "--annotations, the folder of the recordings, in any layout")
    p.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT_DIR, metavar="DIR",
                   help="the pool folder (default: %(default)s)")
    p.add_argument("--target-samples", type=cli.positive_int, default=_DEFAULTS.target_samples,
                   metavar="N", help="samples per class, originals included (default: %(default)s)")
    p.add_argument("--max-augmentations", type=cli.non_negative_int,
                   default=_DEFAULTS.max_augmentations, metavar="M",
                   help="at most M augmentations per original (default: %(default)s)")
    p.add_argument("--animal-type", choices=list(ANIMAL_RANGES), default=_DEFAULTS.animal_type,
                   help="stretch and pitch ranges that keep what identifies the species, and the "
                   "default types (table below; default: %(default)s)")
    p.add_argument("--augmentations", type=_augmentation_list, default=None,
                   metavar="LIST", help="comma-separated types, see below; wins over the animal type's "
                   "(default: the animal type's; general: " + ",".join(_DEFAULTS.augmentations) + ")")
    p.add_argument("--background-noise-dir", type=Path, metavar="DIR",
                   help="ambient recordings mixed in by the background_noise type (outside the audio root)")
    p.add_argument("--background-noise-class", metavar="NAME",
                   help="a class of the audio root (wind, rain) as the background_noise source; step 2 "
                   "keeps every val or test sample with noise from its own split")
    p.add_argument("--short-noise-dir", type=Path, metavar="DIR",
                   help="short sounds (rain drops, insect bursts, a plane) for the short_noises type")
    p.add_argument("--segment", type=cli.positive_float, metavar="SECONDS",
                   help="cut recordings longer than this into windows, each an original (read with "
                   "seeks); all windows of a recording form one group in step 2")
    p.add_argument("--hop", type=cli.positive_float, metavar="SECONDS",
                   help="start a window every SECONDS (default: the segment: no overlap); with "
                   "--annotations, the step of the clips that tile an event longer than --clip")
    _add_annotation_options(p)
    p.add_argument("--seed", type=int, default=_DEFAULTS.seed, metavar="S",
                   help="seed of the subsampling and of every augmentation (default: %(default)s)")
    cli.add_num_workers(p)
    p.add_argument("--max-memory", type=cli.memory_size, default=None, metavar="SIZE",
                   help="memory the originals being augmented at once may take, e.g. 8G or 500M "
                   "(default: 80%% of what is available at start); a recording that needs more on "
                   "its own is listed and skipped")
    cli.add_scheduler(p)
    p.add_argument("--specific-class", action="append", default=[], metavar="NAME",
                   help="only this class (repeatable); other classes of an existing pool are kept")
    p.add_argument("--keep-all-originals", action="store_true",
                   help="a class with more than N recordings keeps them all")
    p.add_argument("--link-mode", choices=LINK_MODES, default=_DEFAULTS.link_mode,
                   help="how originals enter the pool (default: %(default)s)")
    p.add_argument("--min-peak-dbfs", type=float, default=_DEFAULTS.min_peak_dbfs, metavar="DB",
                   help="leave out originals whose peak is below this level: silence and "
                        "placeholders (default: %(default)s dBFS)")
    p.add_argument("--min-duration", type=float, default=_DEFAULTS.min_duration, metavar="S",
                   help="leave out originals shorter than this (default: %(default)s s)")
    p.add_argument("--keep-quiet-files", action="store_true", default=_DEFAULTS.keep_quiet_files,
                   help="keep the silent, near-silent and short originals, with a warning")
    p.add_argument("--keep-duplicates", action="store_true", default=_DEFAULTS.keep_duplicates,
                   help="keep every copy of one recording in a class (one group in step 2); by "
                        "default one is kept and the others listed as its duplicates")
    p.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    p.add_argument("--verify", action="store_true",
                   help="read every original again on a rerun; without it, an original whose size, "
                        "mtime and inode are as recorded is trusted unchanged")
    p.add_argument("--overwrite", action="store_true",
                   help="rebuild the pool in --output-dir from scratch, even one made with other "
                        "options (only files with pool names are removed)")
    return p


def _add_annotation_options(p: argparse.ArgumentParser) -> None:
    """``--annotations`` and what goes with it: tables of long recordings become clips."""
    g = p.add_argument_group("from recordings and tables (--annotations)")
    g.add_argument("--annotations", type=Path, action="append", default=[], metavar="PATH",
                   help="a table or a folder of tables (searched recursively; repeatable): Raven, BirdNET, "
                   "Audacity, Kaleidoscope or path,start,end,label CSV. --audio-root is then the folder of "
                   "the recordings, in any layout; the classes come from the labels")
    g.add_argument("--annotation-format", choices=FORMAT_CHOICES, default=_DEFAULTS.annotation_format,
                   help="the tables' format (default: %(default)s, read from each header)")
    g.add_argument("--label-column", metavar="NAME",
                   help="the column holding the label, when the header has none or several")
    g.add_argument("--label-map", type=Path, metavar="FILE",
                   help="CSV label,class mapping raw labels to classes; class 'ignore' drops a label")
    g.add_argument("--unknown-labels", choices=UNKNOWN_LABELS, default=_DEFAULTS.unknown_labels,
                   help="a label the map lacks: an error listing them all, or left out and counted "
                   "(default: %(default)s)")
    g.add_argument("--min-confidence", type=float, metavar="X",
                   help="keep detections of confidence X or more (the table needs a confidence column)")
    g.add_argument("--clip", type=cli.positive_float, metavar="SECONDS",
                   help="clip length (default: the --animal-type spectrogram duration, 8 s for general)")
    g.add_argument("--multi-label", choices=MULTI_LABEL, default=_DEFAULTS.multi_label,
                   help="a clip overlapped by an event of another class: dropped, or kept with every "
                   "label in its metadata (default: %(default)s)")
    g.add_argument("--max-per-recording", type=cli.positive_int, metavar="N",
                   help="at most N clips of a class per recording (seeded, spread over the recording)")
    g.add_argument("--background-class", metavar="NAME",
                   help="clips of NAME from the stretches of exhaustive recordings at least one clip away "
                   "from any event")
    g.add_argument("--exhaustive", action="append", default=[], metavar="GLOB",
                   help="recordings (paths under --audio-root) whose tables mark every sound (repeatable)")
    g.add_argument("--tables-are-exhaustive", action="store_true",
                   help="every annotator's table marks every sound (never detector output)")
    g.add_argument("--time-expansion", type=float, default=_DEFAULTS.time_expansion, metavar="F",
                   help="the recordings are time-expanded F times (bats); --clip and --hop in real time")
    g.add_argument("--table-time", choices=TABLE_TIMES, default=_DEFAULTS.table_time,
                   help="the tables' times: of the expanded file as stored, or real time "
                   "(default: %(default)s)")
    g.add_argument("--point-events", choices=POINT_EVENTS, default=_DEFAULTS.point_events,
                   help="a row whose begin equals its end: named and left out, or a clip centred on it "
                   "(default: %(default)s)")


def _augmentation_list(text: str) -> tuple[str, ...]:
    try:
        return parse_augmentation_list(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def options_from_args(args: argparse.Namespace) -> PoolOptions:
    """The content options (what the pool records); the run control goes to ``run_pool`` apart."""
    return PoolOptions(
        target_samples=args.target_samples, max_augmentations=args.max_augmentations,
        augmentations=args.augmentations, seed=args.seed, keep_all_originals=args.keep_all_originals,
        link_mode=args.link_mode, background_noise_dir=args.background_noise_dir,
        min_peak_dbfs=args.min_peak_dbfs, min_duration=args.min_duration,
        keep_quiet_files=args.keep_quiet_files, keep_duplicates=args.keep_duplicates,
        animal_type=args.animal_type, short_noise_dir=args.short_noise_dir,
        background_noise_class=args.background_noise_class, segment=args.segment, hop=args.hop,
        annotations=tuple(args.annotations), annotation_format=args.annotation_format,
        label_column=args.label_column, label_map=args.label_map, unknown_labels=args.unknown_labels,
        min_confidence=args.min_confidence, clip=args.clip, multi_label=args.multi_label,
        max_per_recording=args.max_per_recording, background_class=args.background_class,
        exhaustive=tuple(args.exhaustive), tables_are_exhaustive=args.tables_are_exhaustive,
        time_expansion=args.time_expansion, table_time=args.table_time, point_events=args.point_events,
    )


def step_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """``run_pool``'s own keywords: what neither the content options nor the run control
    (``cli.run_options``) hold."""
    return {"specific_classes": tuple(args.specific_class), "dry_run": args.dry_run,
            "overwrite": args.overwrite, "verify": args.verify}


def check_args(args: argparse.Namespace) -> None:
    """What ``run_pool`` would refuse before reading the audio root (``UsageError``)."""
    check_content(options_from_args(args))



def main(argv: list[str] | None = None, *, timeout: float | None = None) -> int:
    """The script; ``timeout`` (seconds per original) replaces the step's default."""
    args = build_parser().parse_args(argv)
    cli.configure_logging(args.verbose, args.quiet)

    def body() -> int:
        run = cli.run_options(args, timeout=timeout)
        folders = [d for d in (args.audio_root, args.background_noise_dir, args.short_noise_dir)
                   if d is not None]  # the tables are read in this process, never by a worker
        with (cli.collected_warnings() as said,
              open_executor(run, readable=folders,
                            writable=[] if args.dry_run else [args.output_dir]) as executor):
            report = run_pool(args.audio_root, args.output_dir, options_from_args(args), run=run,
                              executor=executor, **step_keywords(args))
        if not args.dry_run:
            write_outcome(args.output_dir, StepOutcome(step=1, status=report.status, why=pool_why(report),
                                                       warnings=list(said), cross_class=report.cross_class))
        print(tables.pool_table(report, dry_run=args.dry_run))
        if report.annotations is not None:
            print(annotation_table(report.annotations))
        return report.status

    return cli.run_main(body)


if __name__ == "__main__":
    sys.exit(main())
