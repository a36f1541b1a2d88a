#!/usr/bin/env python3
# ruff: noqa: E402  (the signal handlers come before the imports)
"""Step 3 of the NightScan workflow: one log-mel spectrogram (.npy) per indexed audio file."""

from __future__ import annotations

if __name__ == "__main__":  # first: a stop while the imports below run is a clean stop too
    from nightscan_common.startup import stop_cleanly_during_startup

    stop_cleanly_during_startup()

import argparse
import dataclasses
from collections.abc import Sequence

from nightscan_common import cli
from nightscan_common.dsp.animals import DEFAULT_PRESET, PRESETS
from nightscan_common.dsp.spectrogram import CHANNELS, CROPS, DTYPES, PADS, SpectrogramConfig
from nightscan_common.execution.cluster import open_executor
from nightscan_common.formats.layouts import DEFAULT_LAYOUT, layout_names, layouts_help
from nightscan_common.formats.provenance import ALLOW_POOL_MISMATCH
from nightscan_common.formats.step_outcome import StepOutcome, write_outcome
from nightscan_common.formats.webdataset_store import DEFAULT_SHARD_SIZE
from nightscan_common.reports import tables
from nightscan_common.reports.outcomes import spectrogram_why
from nightscan_common.steps.spectrograms import DEFAULT_OUTPUT_DIR, run_spectrograms
from nightscan_common.vocabulary import SPLITS

EXAMPLE = """\
  python pregenerate_spectrograms_simple.py \\
      --index-db balanced_audio_index.db --pool-root data/augmented_pool \\
      --output-dir data/spectrograms_balanced --num-workers 8"""

#: One option per setting: (type, metavar, help). Their default is None, meaning "the
#: preset's value", so SpectrogramConfig and PRESETS stay the one place for defaults.
SETTING_OPTIONS: dict[str, tuple] = {
    "sample_rate": (cli.positive_int, "HZ", "sample rate the audio is resampled to"),
    "n_fft": (cli.positive_int, "N", "FFT size, in samples"),
    "hop_length": (cli.positive_int, "N", "hop between frames, in samples"),
    "n_mels": (cli.positive_int, "N", "number of mel bands"),
    "fmin": (float, "HZ", "lowest frequency of the mel bands"),
    "fmax": (float, "HZ", "highest frequency of the mel bands (at most half the sample rate)"),
    "duration": (float, "SECONDS", "length of the analysed window; shorter clips are zero-padded"),
    "top_db": (float, "DB", "dynamic range kept below the loudest bin"),
}


def _presets_table() -> str:
    rows = [(name, c.sample_rate, f"{c.fmin:g}-{c.fmax:g}", c.n_mels, c.n_fft, c.hop_length,
             f"{1000 * c.n_fft / c.sample_rate:.3g}", f"{c.duration:g}", "x".join(map(str, c.shape)))
            for name, c in PRESETS.items()]
    return cli.format_table(["--animal-type", "sample rate", "band (Hz)", "mels", "n_fft", "hop",
                             "window ms", "s", "shape"], rows)


def build_parser() -> argparse.ArgumentParser:
    """The command line; every setting's default comes from the chosen preset."""
    parser = cli.make_parser(
        "pregenerate_spectrograms_simple.py",
        "Write one log-mel spectrogram (.npy) per file of a balanced index, to "
        "<output-dir>/<split>/<class>/<stem>.npy, with the settings in "
        "<output-dir>/spectrogram_config.json. Rerunning resumes; files that cannot be "
        "read are listed in <output-dir>/failures.json (exit status 1).",
        EXAMPLE,
        notes="presets (all top_db 80; any setting can be overridden):\n"
        + _presets_table(),
    )
    parser.add_argument("--index-db", required=True, metavar="FILE",
                        help="SQLite index written by create_balanced_index.py")
    parser.add_argument("--pool-root", required=True, metavar="DIR",
                        help="the augmented pool the index's file_path values are relative to")
    parser.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR, metavar="DIR",
                        help="where the spectrograms go (default: %(default)s)")
    cli.add_num_workers(parser)
    cli.add_scheduler(parser)
    parser.add_argument("--animal-type", choices=list(PRESETS), default=DEFAULT_PRESET,
                        help="preset of settings (default: %(default)s; table below)")
    for name, (kind, metavar, text) in SETTING_OPTIONS.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, metavar=metavar,
                            help=f"{text} (default: the preset's)")
    defaults = {f.name: f.default for f in dataclasses.fields(SpectrogramConfig)}
    parser.add_argument("--crop", choices=CROPS,
                        help="which window of a longer file: its start, its center, or the "
                             f"loudest (default: {defaults['crop']})")
    parser.add_argument("--channels", type=int, choices=CHANNELS,
                        help=f"3 stacks three identical copies (default: {defaults['channels']})")
    parser.add_argument("--dtype", choices=DTYPES, help=f"saved type (default: {defaults['dtype']})")
    parser.add_argument("--pad", choices=PADS,
                        help="how a clip shorter than --duration is filled: zeros at the end, or the "
                             f"clip repeated (default: {defaults['pad']})")
    parser.add_argument("--split", action="append", choices=SPLITS, metavar="NAME",
                        help="only this split (train, val or test); repeatable (default: all)")
    parser.add_argument("--layout", choices=layout_names(), default=DEFAULT_LAYOUT,
                        help=f"{layouts_help()} (default: %(default)s)")
    parser.add_argument("--shard-size", type=cli.positive_int, default=DEFAULT_SHARD_SIZE, metavar="N",
                        help="samples per shard with --layout webdataset (default: %(default)s)")
    parser.add_argument("--verify", action="store_true",
                        help="on a rerun, check every pool file by its content (sha256) before keeping "
                             "its spectrogram; without it, a pool file that is a link (step 1's "
                             "--link-mode hardlink|symlink) is checked by content and any other is "
                             "trusted while its size, mtime and inode are unchanged")
    parser.add_argument("--overwrite", action="store_true",
                        help="delete the spectrograms, config and failures list this tool wrote "
                             "in --output-dir, then start again (needed to change settings)")
    parser.add_argument(ALLOW_POOL_MISMATCH, action="store_true",
                        help="take an index made from another pool than --pool-root's (its recorded "
                             "checksum of pool_metadata.json differs): refused without it")
    return parser


def config_from_args(args: argparse.Namespace) -> SpectrogramConfig:
    """The preset with the options given on the command line applied, validated."""
    changes = {f.name: getattr(args, f.name) for f in dataclasses.fields(SpectrogramConfig)}
    return PRESETS[args.animal_type].replace(**changes).validate()


def check_args(args: argparse.Namespace) -> None:
    """What ``run_spectrograms`` would refuse before reading the index (``UsageError``)."""
    config_from_args(args)



def main(argv: Sequence[str] | None = None, *, timeout: float | None = None) -> int:
    """The script; ``timeout`` (seconds per file) replaces the step's default."""
    args = build_parser().parse_args(argv)
    cli.configure_logging(args.verbose, args.quiet)

    def body() -> int:
        config = config_from_args(args)
        run = cli.run_options(args, timeout=timeout)
        with open_executor(run, readable=[args.pool_root], writable=[args.output_dir]) as executor:
            report = run_spectrograms(
                args.index_db, args.pool_root, args.output_dir, config, run=run, executor=executor,
                splits=tuple(s for s in SPLITS if s in (args.split or SPLITS)),
                overwrite=args.overwrite, preset=args.animal_type, layout=args.layout,
                shard_size=args.shard_size, verify=args.verify, allow_pool_mismatch=args.allow_pool_mismatch,
            )
        for warning in report.warnings:
            cli.log.warning(warning)
        write_outcome(args.output_dir, StepOutcome(step=3, status=report.status, why=spectrogram_why(report),
                                                   warnings=list(report.warnings)))
        print(tables.spectrogram_table(report))
        return report.status

    return cli.run_main(body)


if __name__ == "__main__":
    raise SystemExit(main())
