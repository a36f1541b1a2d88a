"""The output seam of step 3: a store holds spectrograms by key, whatever its layout.

The parent prepares the store, asks which keys are done, sends a picklable writer with
the tasks, records what workers return and finalizes; a worker computes an array and
hands it to the writer. One class per layout (``tree_store`` is today's .npy tree).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..plans.spectrogram_plan import Job


class SlotWriter(Protocol):
    """Runs in a worker: writes one spectrogram atomically; returns a small receipt."""

    def put(self, job: Job, array: np.ndarray) -> dict: ...


class SpectrogramStore(Protocol):
    """Where step 3's spectrograms go; the only code that knows the layout on disk."""

    layout: str

    def holds_output(self) -> bool: ...          # any spectrogram of ours, from any run

    def prepare(self, jobs: Sequence[Job], *, overwrite: bool) -> None: ...

    def done(self, jobs: Sequence[Job]) -> set[str]: ...

    def writer(self) -> SlotWriter: ...

    def record(self, job: Job, receipt: dict) -> None: ...

    def finalize(self) -> None: ...

    def sweep(self) -> int: ...                  # partial files of killed workers

    def remove_own(self) -> int: ...

    def bytes_on_disk(self) -> int: ...

    def count_unlisted(self, splits: Sequence[str]) -> int: ...

    def read(self, key: str) -> np.ndarray: ...
