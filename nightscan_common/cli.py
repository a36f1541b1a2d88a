"""What the front ends share: common options, logging, messages, the exit status policy.

One policy for every script and the pipeline: 0 all done, 1 done but some inputs
skipped or failed (a report's ``status``), 2 bad usage or unusable input, 3 stopped
before finishing (a full or read-only disk, an unwritable output), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence

from tqdm import tqdm

from . import __version__
from .errors import NightScanError, UsageError
from .execution.base import DEFAULT_NUM_WORKERS, LOCAL
from .execution.cluster import RunOptions
from .startup import EXIT_INTERRUPTED, INTERRUPTED, STOP_SIGNALS

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 3
#: The exit-status section of every --help, and of the README.
EXIT_STATUS_HELP = """exit status:
  0    all done
  1    done, but some inputs were skipped or failed (each listed with its reason)
  2    bad usage or unusable input; nothing was written
  3    stopped before finishing: a full or read-only disk, an unwritable output
       (finished files are kept; free space or fix permissions and rerun to resume)
  130  interrupted (Ctrl-C, SIGTERM or SIGHUP); rerun the same command to resume"""

log = logging.getLogger("nightscan")


class _TqdmHandler(logging.Handler):
    """Log lines that do not tear the progress bar: ``warning: ...`` on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        prefix = "" if record.levelno == logging.INFO else f"{record.levelname.lower()}: "
        tqdm.write(prefix + record.getMessage(), file=sys.stderr)


class WarningCollector(logging.Handler):
    """Keeps the warnings of a run (the pipeline repeats them at its end); survives
    ``configure_logging``, which each step's front end calls."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """The warnings logged in the block, in order: what a step's outcome record repeats."""
    collector = WarningCollector()
    log.addHandler(collector)
    try:
        yield collector.messages
    finally:
        log.removeHandler(collector)


def library_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    file: object = None, line: str | None = None) -> None:
    """``warnings.showwarning`` for the toolkit: a library's warning as one ``warning: ...`` line
    naming the library, not Python's two lines with the ``warnings.warn(`` source line."""
    parts = filename.replace("\\", "/").split("/")
    library = next((p for p in reversed(parts[:-1]) if p in LIBRARIES), parts[-1])
    said = f"{library}: {message}"
    if said not in _SAID:  # once per process: a run repeats one warning for every file
        _SAID.add(said)
        log.warning(said)


#: The libraries named in their warnings' line (else the file that warned).
LIBRARIES = ("audiomentations", "librosa", "soundfile", "numba", "scipy", "numpy", "distributed")
_SAID: set[str] = set()


def configure_logging(verbose: bool, quiet: bool) -> None:
    """Only the entry point configures logging: INFO by default, DEBUG with -v. Python
    warnings go through the same ``warning: ...`` line, each message once."""
    log.handlers[:] = [h for h in log.handlers if isinstance(h, WarningCollector)] + [_TqdmHandler()]
    log.propagate = False
    log.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    warnings.showwarning = library_warning
    if quiet:  # librosa's advice (an n_fft longer than a clip...) is not ours to print
        warnings.filterwarnings("ignore", category=UserWarning, module=r"librosa(\.|$)")
        warnings.filterwarnings("ignore", category=UserWarning, module=r"audiomentations(\.|$)")


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise ``KeyboardInterrupt`` in the block, as Ctrl-C does, so that
    a killed session or service manager gets the same clean stop (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.default_int_handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def make_parser(prog: str, description: str, example: str, *, notes: str = "") -> argparse.ArgumentParser:
    """An argparse parser with the options every script has, a usage example, ``notes``
    and the exit statuses; abbreviations are refused (``--audio-roo`` is no option)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, allow_abbrev=False,
        epilog=f"example:\n{example}\n\n" + (f"{notes}\n\n" if notes else "") + EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument("-v", "--verbose", action="store_true", help="say more (debug messages)")
    talk.add_argument("-q", "--quiet", action="store_true",
                      help="no progress bar; warnings, errors and the summary only")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def add_num_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--num-workers", type=positive_int, default=DEFAULT_NUM_WORKERS,
                        metavar="W", help="worker processes (default: all cores, %(default)s here)")


def add_scheduler(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the per-file work on the Dask scheduler at ADDRESS (e.g. "
                             f"tcp://10.0.0.5:8786), or '{LOCAL}' for a cluster of --num-workers "
                             "processes started for the run; every worker must see the folders at "
                             "the same paths (default: a process pool on this machine)")


def run_options(args: argparse.Namespace, *, timeout: float | None = None) -> RunOptions:
    """The run control of a step's command line (``--num-workers``, ``--scheduler`` and
    ``--max-memory`` where the step has them, ``-q``); ``timeout`` None is the step's own."""
    return RunOptions(num_workers=getattr(args, "num_workers", DEFAULT_NUM_WORKERS),
                      scheduler=getattr(args, "scheduler", None),
                      max_memory=getattr(args, "max_memory", None), progress=not args.quiet, timeout=timeout)


def _int_at_least(minimum: int, wording: str) -> Callable[[str], int]:
    """An argparse type: an integer >= ``minimum``, with a message that repeats the bad value."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {wording}, got {value}")
        return value

    return parse


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_size(text: str) -> int:
    """An argparse type: bytes, or a number with K, M, G or T (binary: 1G = 1024**3)."""
    body = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = body[-1:] if body[-1:].isalpha() and body[-1:] in _SIZE_UNITS else ""
    try:
        value = float(body[: len(body) - len(unit)]) * _SIZE_UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size such as 8G or 500M, got {text!r}") from None
    if not 1 << 20 <= value < float("inf"):  # NaN fails it too
        raise argparse.ArgumentTypeError(f"must be at least 1M, got {text!r}")
    return int(value)


positive_int = _int_at_least(1, "at least 1")
non_negative_int = _int_at_least(0, "0 or more")


def positive_float(text: str) -> float:
    """A finite number above 0 (seconds, say), for argparse."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def run_main(body: Callable[[], int]) -> int:
    """Run a front end's body; turn the toolkit's errors into one line and a status."""
    try:
        with stop_signals_interrupt():
            return body()
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return EXIT_INTERRUPTED
    except NightScanError as exc:  # an output that cannot be written: the run stopped
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STOPPED
    except OSError as exc:  # RunStopped (a worker's full disk) or the parent's own
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}; finished files are kept, "
              "free space or fix permissions and rerun to resume", file=sys.stderr)
        return EXIT_STOPPED
