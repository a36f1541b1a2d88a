"""What the training layouts share: each split's samples in row order, with their labels.

Row order is the order of the keys step 3 plans (``<split>/<class>/<stem>``, sorted
by code point): the same whatever the index's ids, the workers or the order they
finish in, and the order of the tree layout's files. Rows whose spectrogram failed are
left out of a finished layout; the rows after them move up.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UsageError
from ..vocabulary import Job
from .index_db import SampleDetails


@dataclass(frozen=True, kw_only=True)
class PlannedSample:
    """One row of a training layout."""

    key: str
    source: str
    class_name: str
    class_index: int
    group_key: str
    is_augmented: bool


@dataclass(frozen=True)
class ArraySpec:
    """The shape of one sample and the saved type: every row of a layout has them."""

    shape: tuple[int, ...]
    dtype: str

    @property
    def row_bytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(self.dtype).itemsize

    def check(self, key: str, array: np.ndarray) -> None:
        """A worker's array must fit its slot exactly: anything else is a bug, said plainly."""
        if array.shape != self.shape or array.dtype != np.dtype(self.dtype):
            raise ValueError(f"{key}: array {array.shape} {array.dtype} does not fit the layout's "
                             f"{self.shape} {self.dtype}")


class SampleCatalog:
    """The index's facts about each file (class, group, augmented) and the global labels."""

    def __init__(self, labels: Mapping[str, int], details: Mapping[str, SampleDetails]):
        self.labels = dict(labels)
        self.details = details

    def plan(self, jobs: Iterable[Job]) -> dict[str, list[PlannedSample]]:
        """Split -> its samples, sorted by key."""
        by_split: dict[str, list[PlannedSample]] = defaultdict(list)
        for job in jobs:
            info = self.details.get(job.source)
            if info is None:
                raise UsageError(f"{job.source} is not in the index the labels were made from")
            by_split[job.split].append(PlannedSample(
                key=job.key, source=job.source, class_name=info.class_name,
                class_index=self.labels[info.class_name], group_key=info.group_key,
                is_augmented=info.is_augmented))
        return {split: sorted(samples, key=lambda s: s.key) for split, samples in sorted(by_split.items())}


def plan_digest(samples: Sequence[PlannedSample], spec: ArraySpec, **extra: Any) -> str:
    """What makes a partial build reusable: the rows' keys, sources and class indexes (what
    a shard's JSON holds), the array spec."""
    record = {"rows": [[s.key, s.source, s.class_index] for s in samples], "shape": list(spec.shape),
              "dtype": spec.dtype, **extra}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode("utf-8")).hexdigest()


def disk_usage(paths: Iterable[Path]) -> int:
    """Bytes the files take on disk (allocated blocks: a sparse preallocation counts as used)."""
    total = 0
    for path in paths:
        try:
            total += path.stat().st_blocks * 512
        except FileNotFoundError:
            pass
    return total
