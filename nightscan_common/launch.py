"""The installed commands' entry points: each stops cleanly from its first instant, then runs its front end.

A console script imports its target before it calls it: pointed at a front end's ``main``,
it would load numpy, librosa and the toolkit before any signal handler exists, and a
SIGTERM or SIGHUP in that second would end it with 143 and no word. These targets import
nothing heavy: they install start-up's handlers (``startup.py``), then import the front end
and run it, as ``python create_augmented_pool.py`` does.
"""

from __future__ import annotations

from functools import partial
from importlib import import_module

from .startup import stop_cleanly_during_startup


def run_front_end(module: str) -> int | None:
    """The front end ``module``'s ``main()``, run with the start-up handlers installed first."""
    stop_cleanly_during_startup()
    return import_module(module).main()


pool = partial(run_front_end, "create_augmented_pool")
index = partial(run_front_end, "create_balanced_index")
spectrograms = partial(run_front_end, "pregenerate_spectrograms_simple")
report = partial(run_front_end, "make_report")
pipeline = partial(run_front_end, "pipeline")
demo_data = partial(run_front_end, "make_demo_data")
