"""What each front end runs first, before its heavy imports: a stop during start-up is a clean stop.

Loading the toolkit and its libraries takes a second or more; a SIGTERM or SIGHUP in that
time would end the process with 143 and no word. Nothing is written before the run
starts, so leaving at once loses nothing: the documented exit status and line, as for a
stop mid-run. ``cli.run_main`` then installs the handlers that stop a run cleanly
(workers stopped, temporaries removed) and puts these back after. Imports nothing heavy.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

#: The exit status and the line of a run stopped by Ctrl-C, SIGTERM or SIGHUP.
EXIT_INTERRUPTED = 130
INTERRUPTED = "error: interrupted; finished files are kept, rerun the same command to resume"
#: Signals that stop a run the way Ctrl-C does: workers stopped, temporaries removed, 130.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def stop_cleanly_during_startup() -> None:
    """SIGTERM and SIGHUP from now on: the documented line on stderr and exit 130 at once."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _leave)


def _leave(signum: int, frame: Any) -> None:
    try:
        sys.stderr.write(INTERRUPTED + "\n")
        sys.stderr.flush()
    finally:
        os._exit(EXIT_INTERRUPTED)
