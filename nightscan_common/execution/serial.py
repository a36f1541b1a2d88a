"""The in-process executor: items one after another, for tests and for debugging."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from .base import ContextExecutor, Outcome, item_alarm, progress_bar, run_item

T = TypeVar("T")
R = TypeVar("R")


class SerialExecutor(ContextExecutor):
    """Runs every item in this process, in order: a debugger and a traceback see the task.

    ``setup`` runs once per ``map`` (this process is the one worker); ``timeout`` bounds an
    item as in the pool when the run is on the main thread.
    """

    num_workers = 1

    def map(self, func: Callable[[T], R], items: Sequence[T], *, desc: str,
            setup: Callable[[], None] | None = None, chunksize: int = 1,
            timeout: float | None = None, weight: Callable[[T], int] | None = None,
            progress: bool = True, memory: Callable[[T], int] | None = None,
            ) -> Iterator[Outcome[T, R]]:
        """One item at a time: its own memory estimate is all there is to fit."""
        items = list(items)
        bar = progress_bar(items, desc=desc, weight=weight, progress=progress)
        try:
            if setup is not None:
                setup()
            for item in items:
                with item_alarm(timeout):
                    outcome = run_item(func, item)
                bar.update(weight(item) if weight else 1)
                yield outcome
        finally:
            bar.close()
