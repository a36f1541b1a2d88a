#!/usr/bin/env python3
# ruff: noqa: E402  (the signal handlers come before the imports)
"""The NightScan dataset pipeline: the three steps and the report in order, every option checked first.

``run_pipeline.sh`` is a thin wrapper around this script (it makes the virtual
environment on first use); the options and environment variables are documented in
``--help``. Each step runs in this process, through its own front end's ``main``.
"""

from __future__ import annotations

if __name__ == "__main__":  # first: a stop while the imports below run is a clean stop too
    from nightscan_common.startup import stop_cleanly_during_startup

    stop_cleanly_during_startup()

import os
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from types import ModuleType

from nightscan_common import __version__, cli
from nightscan_common.errors import UsageError
from nightscan_common.formats.index_db import split_counts
from nightscan_common.formats.step_outcome import read_outcome
from nightscan_common.pipeline_help import HELP, PROG, TRAIN_COMMAND
from nightscan_common.reports.outcomes import grouped
from nightscan_common.vocabulary import SPLITS

HERE = Path(__file__).resolve().parent
#: Where outputs go by default: the checkout's data/ when run from one (beside
#: run_pipeline.sh), else data/ in the working folder (an installed nightscan-pipeline).
DATA_HOME = HERE if (HERE / "run_pipeline.sh").is_file() else Path.cwd()
#: The recap's remark on a data set of one class.
ONE_CLASS = ("note: the index holds one class, so --num-classes 1 trains a model with nothing to "
             "tell apart; a classifier needs two classes or more (add one of other sounds, e.g. a "
             "noise class of rain, wind and aircraft)")
#: Option -> (environment variable, attribute); an option wins over its variable.
VALUED = {"--audio-root": "AUDIO_ROOT", "--data-dir": "DATA_DIR", "--target-samples": "TARGET_SAMPLES",
          "--num-workers": "NUM_WORKERS", "--seed": "SEED", "--animal-type": "ANIMAL_TYPE",
          "--group-pattern": "GROUP_PATTERN", "--scheduler": "SCHEDULER"}
FLAGS = {"--demo": "demo", "--overwrite": "overwrite", "-q": "quiet", "--quiet": "quiet",
         "--dry-run": "dry_run", "--keep-splits": "keep_splits"}


@dataclass
class Step:
    """One step to run: its number, front end and command line, and what it reported."""

    number: int
    #: the front end's module name, imported when the step is checked or run: ``--help`` and a
    #: usage error import none of the steps
    front_name: str
    args: list[str]
    #: what the step's status 1 means, when the step keeps no outcome record saying why
    partial: str = "some files were skipped or failed (listed above)"
    status: int | None = None
    warnings: list[str] = field(default_factory=list)
    #: the output whose outcome record (``formats/step_outcome.py``) says why and what was warned
    output: Path | None = None

    @property
    def front(self) -> ModuleType:
        return import_module(self.front_name)

    @property
    def script(self) -> str:
        return f"{self.front_name}.py"

    def shown(self) -> str:
        return shlex.join(["python", self.script, *self.args])


def parse(argv: Sequence[str], env: Mapping[str, str]) -> dict[str, object]:
    """The pipeline's own options, environment first; ``UsageError`` in the shell's words."""
    values: dict[str, object] = {name: env.get(var) or None for name, var in VALUED.items()}
    values.update({attr: False for attr in FLAGS.values()}, audio_root_option=False, h=False, v=False)
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, has_value, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if arg in ("-h", "--help", "--version"):
            values[arg.lstrip("-")[0]] = True
        elif arg in FLAGS:
            values[FLAGS[arg]] = True
        elif name in VALUED:
            if not has_value:
                if not args:
                    raise UsageError(f"{name} needs a value (see --help)")
                value = args.pop(0)
            values[name] = value
            values["audio_root_option"] |= name == "--audio-root"
        elif has_value:
            raise UsageError(f"unknown option '{name}' (see --help)")
        else:
            raise UsageError(f"unknown argument '{arg}' (see --help)")
    return values


def plan(values: dict[str, object], env: Mapping[str, str]) -> tuple[list[Step], dict[str, Path]]:
    """Every step's command line, as the shell script built them, and the output paths."""
    extra = {n: env.get(f"STEP{n}_OPTIONS", "").split() for n in (1, 2, 3, 4)}
    if values["demo"]:
        if values["audio_root_option"]:
            raise UsageError("--demo makes its own audio root (DATA_DIR/demo_audio): leave out --audio-root")
        data = Path(os.path.abspath(values["--data-dir"] or DATA_HOME / "data" / "demo"))
        audio, target = data / "demo_audio", values["--target-samples"] or "60"
    else:
        if not values["--audio-root"]:
            raise UsageError("no audio root: give --audio-root DIR (or AUDIO_ROOT), or try --demo "
                             "(see --help)")
        audio = Path(os.path.abspath(str(values["--audio-root"])))
        if not audio.is_dir():
            raise UsageError(f"audio root not found or not a folder: {audio}")
        data = Path(os.path.abspath(values["--data-dir"] or DATA_HOME / "data"))
        target = values["--target-samples"] or "500"
    paths = {"audio": audio, "pool": data / "augmented_pool", "index": data / "balanced_audio_index.db",
             "spectrograms": data / "spectrograms_balanced", "report": data / "report"}
    common = ["-q"] if values["quiet"] else []
    again = ["--overwrite"] if values["overwrite"] else []
    workers = ["--num-workers", str(values["--num-workers"])] if values["--num-workers"] else []
    workers += ["--scheduler", str(values["--scheduler"])] if values["--scheduler"] else []
    seed = values["--seed"]
    animal = ["--animal-type", str(values["--animal-type"])] if values["--animal-type"] else []
    steps = [
        Step(1, "create_augmented_pool",
             ["--audio-root", str(audio), "--output-dir", str(paths["pool"]),
              "--target-samples", str(target), *workers, *again, *common]
             + (["--seed", str(seed)] if seed else []) + animal + extra[1], output=paths["pool"]),
        Step(2, "create_balanced_index",
             ["--pool-dir", str(paths["pool"]), "--output-db", str(paths["index"]), "--overwrite", *common]
             + (["--random-seed", str(seed)] if seed else [])
             + (["--group-pattern", str(values["--group-pattern"])] if values["--group-pattern"] else [])
             + (["--keep-splits-from", str(paths["index"])]
                if values["keep_splits"] and paths["index"].is_file() else [])
             + extra[2], output=paths["index"]),
        Step(3, "pregenerate_spectrograms_simple",
             ["--index-db", str(paths["index"]), "--pool-root", str(paths["pool"]),
              "--output-dir", str(paths["spectrograms"]), *workers, *again, *common]
             + animal + extra[3], output=paths["spectrograms"]),
        Step(4, "make_report",
             ["--pool-dir", str(paths["pool"]), "--index-db", str(paths["index"]),
              "--spectrogram-dir", str(paths["spectrograms"]), "--output-dir", str(paths["report"]), *common]
             + extra[4],
             partial="the index leaks a group or a recording filed under two classes, or a file to "
                     "play could not be read (see the report)"),
    ]
    if values["demo"]:
        steps.insert(0, Step(0, "make_demo_data", ["--output-dir", str(audio), "--scale",
                                                   env.get("DEMO_SCALE") or "1", *again, *common]))
    return steps, paths


def check(steps: Sequence[Step]) -> None:
    """Each step's options through its own parser and its own content checks, before any work."""
    for step in steps:
        parser = step.front.build_parser()

        def refuse(message: str, step: Step = step) -> None:
            raise UsageError(f"step {step.number} ({step.script}) would refuse its options: {message}; "
                             "nothing was run")

        parser.error = refuse  # type: ignore[method-assign]
        args = parser.parse_args(step.args)
        try:
            getattr(step.front, "check_args", lambda _args: None)(args)
        except UsageError as exc:
            refuse(str(exc))


def run_steps(steps: Sequence[Step], *, collector: cli.WarningCollector) -> int:
    """Run the steps in order; stop at the first that did not finish, with its status.

    Returns 0 when every step finished clean, 1 when one skipped files, else the status
    of the step that stopped the pipeline.
    """
    partial = 0
    for step in steps:
        start = time.monotonic()
        print(f"\n== step {step.number}: {step.shown()}", flush=True)
        del collector.messages[:]
        step.status = step.front.main(step.args)
        outcome = read_outcome(step.number, step.output) if step.output is not None else None
        step.warnings = list(outcome.warnings if outcome is not None else collector.messages)
        sys.stdout.flush()
        if step.status == cli.EXIT_PARTIAL:
            why = outcome.why if outcome is not None and outcome.status == step.status and outcome.why \
                else step.partial
            step.warnings.insert(0, f"exited with status 1: {why}")
            print(f"{PROG}: warning: step {step.number} ({step.script}) exited with status 1: "
                  f"{why}; going on", file=sys.stderr)
            partial = 1
        elif step.status == cli.EXIT_INTERRUPTED:
            print(f"{PROG}: step {step.number} ({step.script}) failed with exit status 130 (interrupted); "
                  "rerun the same command to resume", file=sys.stderr)
            return step.status
        elif step.status != cli.EXIT_OK:
            print(f"{PROG}: step {step.number} ({step.script}) failed with exit status {step.status}",
                  file=sys.stderr)
            return step.status
        print(f"== step {step.number} done in {time.monotonic() - start:.0f} s")
    return partial


def closing(steps: Sequence[Step], paths: dict[str, Path], seconds: float) -> str:
    """Where everything is, the training command, every step's warnings again, the report's path."""
    counts = split_counts(paths["index"])
    classes = len({c for c, _, _ in counts})
    rows = {s: sum(n for (_, split, _), n in counts.items() if split == s) for s in SPLITS}
    lines = ["", f"== all done in {seconds:.0f} s", f"audio root     {paths['audio']}",
             f"pool           {paths['pool']}",
             f"index          {paths['index']}  ({classes} classes; "
             + ", ".join(f"{s} {rows[s]}" for s in SPLITS) + " rows)",
             f"spectrograms   {paths['spectrograms']}", "",
             TRAIN_COMMAND.format(classes=classes, **{k: shlex.quote(str(paths[k]))
                                                      for k in ("index", "pool", "spectrograms")})]
    if classes == 1:
        lines.append(ONE_CLASS)
    said = [(s.number, w) for s in steps for w in grouped(s.warnings)]
    per_step = ", ".join(f"step {s.number}: {len(s.warnings)}" for s in steps if s.warnings)
    lines.append(f"warnings: {sum(len(s.warnings) for s in steps)}" + (f" ({per_step})" if per_step else "")
                 + "".join(f"\n  step {n}: {w}" for n, w in said))
    lines.append(f"report: {paths['report'] / 'report.html'}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None,
         *, run: Callable[..., int] = run_steps) -> int:
    env = os.environ if env is None else env
    started = time.monotonic()
    try:
        values = parse(sys.argv[1:] if argv is None else argv, env)
        if values["h"]:
            print(HELP, end="")
            return cli.EXIT_OK
        if values["v"]:
            print(f"{PROG} {__version__}")
            return cli.EXIT_OK
        steps, paths = plan(values, env)
        check(steps)
    except UsageError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return cli.EXIT_USAGE
    if values["dry_run"]:
        return dry_run(steps)
    collector = cli.WarningCollector()
    cli.log.addHandler(collector)
    try:
        with cli.stop_signals_interrupt():
            status = run(steps, collector=collector)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted between steps; rerun the same command to resume", file=sys.stderr)
        return cli.EXIT_INTERRUPTED
    finally:
        cli.log.removeHandler(collector)
    if status in (cli.EXIT_OK, cli.EXIT_PARTIAL):
        print(closing(steps, paths, time.monotonic() - started))
    return status


def dry_run(steps: Sequence[Step]) -> int:
    """Print every step's command line, and step 1's plan when its audio root exists."""
    for step in steps:
        print(f"== step {step.number}: {step.shown()}")
    first = next(s for s in steps if s.number == 1)
    if Path(first.args[first.args.index("--audio-root") + 1]).is_dir():
        print("\n== step 1's plan (steps 2 and 3 plan from step 1's output):", flush=True)
        return first.front.main([*first.args, "--dry-run", "-q"])
    print("\n(step 1's plan needs the demo data: run without --dry-run)")
    return cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
