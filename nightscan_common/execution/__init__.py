"""Running per-file work: the executor protocol and its implementations."""

from .base import Executor, Outcome, RunStopped, default_num_workers, run_item

__all__ = ["Executor", "Outcome", "RunStopped", "default_num_workers", "run_item"]
