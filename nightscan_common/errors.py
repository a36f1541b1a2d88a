"""The toolkit's exceptions: one family that front ends turn into one-line messages."""

class NightScanError(Exception):
    """Base of every error the toolkit raises on purpose."""


class TaskFailed(Exception):
    """This item failed, for ``reason``; the run goes on with the others."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class UsageError(NightScanError):
    """A bad option or an unusable input: the run cannot start (exit status 2)."""


class OutputConflictError(UsageError):
    """The output already holds work made with other options."""


class ClusterUnusable(UsageError):
    """The Dask cluster cannot run this step: unreachable, without workers, or a machine
    that lacks a folder or has other library versions."""


class ClusterStopped(NightScanError):
    """The Dask cluster can no longer run the step's tasks: the run stops (exit status 3)."""


class SchedulerLost(ClusterStopped):
    """The connection to the Dask scheduler was lost mid-run; a rerun resumes."""


class AudioFileError(NightScanError, TaskFailed):
    """One audio file cannot be used; the run skips it and goes on.

    The message is the reason alone; ``path`` says which file.
    """

    def __init__(self, path: str, reason: str):
        TaskFailed.__init__(self, reason)
        self.path = path

    def __reduce__(self) -> tuple:
        return type(self), (self.path, self.reason)

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class NoiseFileError(NightScanError, TaskFailed):
    """A background-noise file failed while being mixed in: the reason names it, not the original."""

    def __init__(self, reason: str):
        TaskFailed.__init__(self, reason)

    def __reduce__(self) -> tuple:
        return type(self), (self.reason,)


class UnfinishedLayoutError(UsageError):
    """A training layout is still being built, or its build was interrupted: not readable."""


class DamagedLayoutError(UsageError):
    """A finished training layout whose files are not what step 3 wrote (cut, edited): not readable."""
