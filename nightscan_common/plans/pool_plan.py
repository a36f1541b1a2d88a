"""The augmented pool's plan: which originals each class keeps and which augmentations each gets.

Pure functions of (usable originals, options, seed) returning plain data: the tests and
``--dry-run`` read the plan, the builder executes it. The rule, for a class with n usable
originals, target T and cap M augmentations per original:

- n >= T: T originals kept (all n with ``keep_all``), chosen with the seed and spread
  evenly over the class's sub-folders; no augmentation.
- n < T: all kept; T - n augmentations shared out so that each original gets
  floor((T-n)/n) or ceil((T-n)/n) (which ones get the extra one is seeded), at most M.

Every choice depends on (seed, class, source), not on an original's position among the
others, so that a class that gains or loses a recording keeps most of its files.
  The class ends with T samples, or n * (1 + M) when that is less (short of target).
- The types (``type_assignment.assign_types``): each original walks its own seeded
  order of the chosen types, and the few left over after whole cycles are shared out
  so that over the class any two types' counts differ by at most one, whatever the
  number per original; an original added or removed changes the types of a few others.
"""

from __future__ import annotations

import posixpath
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ..formats.pool_metadata import AUGMENTED, ORIGINAL, augmented_filename, original_filename, unit_key
from ..seeds import derive_seed
from ..vocabulary import Window
from .segments import window_unit
from .type_assignment import assign_types


@dataclass(frozen=True, kw_only=True)
class PlannedFile:
    """One output file of the pool."""

    filename: str
    kind: str  # ORIGINAL or AUGMENTED
    source: str  # the original's path relative to its class folder
    number: int | None = None  # 1 for aug001
    augmentation: str | None = None
    seed: int | None = None  # the file's own seed, for augmentations


@dataclass(frozen=True, kw_only=True)
class SourceTask:
    """All outputs derived from one original: the unit of work a worker executes."""

    class_name: str
    source: str
    original: PlannedFile
    augmentations: tuple[PlannedFile, ...]
    window: Window | None = None  # with --segment: the part of the source this original is

    @property
    def files(self) -> tuple[PlannedFile, ...]:
        return (self.original, *self.augmentations)

    @property
    def key(self) -> str:
        """What tells this task apart in its class: the source, and a window's offset."""
        return unit_key(self.source, self.window.offset if self.window else None)


@dataclass(frozen=True, kw_only=True)
class ClassPlan:
    """What the pool will hold for one class."""

    name: str
    usable: int  # originals found and decodable
    target: int
    tasks: tuple[SourceTask, ...]

    @property
    def kept(self) -> int:
        return len(self.tasks)

    @property
    def total(self) -> int:
        return sum(len(t.files) for t in self.tasks)

    @property
    def augmentations_per_original(self) -> tuple[int, int]:
        counts = [len(t.augmentations) for t in self.tasks] or [0]
        return min(counts), max(counts)

    @property
    def reached_target(self) -> bool:
        return self.total >= self.target


def split_ext(rel_path: str) -> tuple[str, str]:
    """``"site1/a.WAV"`` -> ``("site1/a", ".WAV")``."""
    base, ext = posixpath.splitext(rel_path)
    return base, ext


def unique_stems(sources: list[str]) -> dict[str, str]:
    """A stem per source, unique within the class, the same whatever the listing order.

    A stem that only one source has is kept. Sources that share one are told apart by
    their sub-folder path (``site1__a``) and, if that is not enough, by their extension
    (``a_wav``, ``a_mp3``); a numeric suffix settles anything left.
    """
    by_stem: dict[str, list[str]] = defaultdict(list)
    for src in sorted(sources):
        by_stem[posixpath.basename(split_ext(src)[0])].append(src)
    stems: dict[str, str] = {}
    for stem, group in by_stem.items():
        if len(group) == 1:
            stems[group[0]] = stem
            continue
        dirs = {posixpath.dirname(s) for s in group}
        exts = {split_ext(s)[1].lower() for s in group}
        for src in group:
            base, ext = split_ext(src)
            name = base.replace("/", "__") if len(dirs) > 1 else stem
            if len(dirs) < len(group) and len(exts) > 1:
                name = f"{name}_{ext.lstrip('.').lower()}"
            stems[src] = name
    taken: set[str] = set()
    for src in sorted(stems):  # a final pass settles any clash the rules above left
        name, k = stems[src], 2
        while name.lower() in taken:
            name, k = f"{stems[src]}_{k}", k + 1
        stems[src] = name
        taken.add(name.lower())
    return stems


def select_spread(sources: list[str], count: int, rng: random.Random, *,
                  rank: Callable[[str], int] | None = None) -> list[str]:
    """``count`` sources chosen at random, spread as evenly as possible over sub-folders.

    Each sub-folder (a recording session, a site) gets an equal share; one with fewer
    files gives its leftover share to the others. Within a folder the sources are taken
    in ``rank`` order (a seeded key per source, so that a recording added or removed
    leaves the others' choice as it was), else in an order drawn with ``rng``. Returns
    the chosen, sorted.
    """
    folders: dict[str, list[str]] = defaultdict(list)
    for src in sorted(sources):
        folders[posixpath.dirname(src)].append(src)
    pools = {k: sorted(v, key=rank) if rank else rng.sample(v, len(v)) for k, v in sorted(folders.items())}
    quota = dict.fromkeys(pools, 0)
    remaining = count
    while remaining:
        open_folders = [k for k in pools if quota[k] < len(pools[k])]
        share, extra = divmod(remaining, len(open_folders))
        lucky = set(rng.sample(open_folders, extra))
        for k in open_folders:
            give = min(share + (k in lucky), len(pools[k]) - quota[k])
            quota[k] += give
            remaining -= give
    return sorted(s for k, pool in pools.items() for s in pool[: quota[k]])


def share_augmentations(ranks: Sequence[int], target: int, cap: int) -> list[int]:
    """How many augmentations each original gets (in their order), from each one's rank.

    Every original gets floor or ceil of (target - n) / n, at most ``cap``; the extra
    ones go to the originals of smallest rank (a seeded key per original): adding an
    original to a class takes extras away from some, never moves them to others.
    """
    n = len(ranks)
    if n == 0 or n >= target:
        return [0] * n
    base, extra = divmod(target - n, n)
    if base >= cap:
        return [cap] * n
    lucky = set(sorted(range(n), key=lambda i: (ranks[i], i))[:extra])
    return [base + (i in lucky) for i in range(n)]


def plan_class(name: str, sources: list[str], *, target: int, max_augmentations: int,
               augmentations: tuple[str, ...], seed: int, keep_all: bool = False,
               windows: Mapping[str, Sequence[Window]] | None = None) -> ClassPlan:
    """The plan for one class from its usable originals (paths relative to the class folder).

    ``windows`` (``--segment``) maps a source to the windows it is cut into: each window
    is then an original of its own (a WAV file of that part), named and seeded by its
    ``window_unit`` path, so the rule above counts windows, not recordings.
    """
    rng = random.Random(derive_seed(seed, name, "plan"))
    units: dict[str, tuple[str, Window | None]] = {}
    for src in sorted(sources):
        cut = (windows or {}).get(src)
        if cut is None:
            units[src] = (src, None)
        else:
            units.update({window_unit(src, w, cut[-1].index + 1): (src, w) for w in cut})
    chosen = sorted(units)
    if len(chosen) > target and not keep_all:
        chosen = select_spread(chosen, target, rng, rank=lambda unit: derive_seed(seed, name, unit, "pick"))
    ranks = [derive_seed(seed, name, unit, "extra") for unit in chosen]
    counts = share_augmentations(ranks, target, max_augmentations)
    types = (assign_types(chosen, counts, augmentations, seed=seed, name=name) if augmentations
             else [()] * len(chosen))
    stems = unique_stems(chosen)
    tasks = []
    for unit, own_types in zip(chosen, types, strict=True):
        src, window = units[unit]
        stem = stems[unit]
        ext = ".wav" if window else split_ext(src)[1]  # a window is written as WAV
        original = PlannedFile(filename=original_filename(stem, ext), kind=ORIGINAL, source=src)
        augs = tuple(
            PlannedFile(filename=augmented_filename(stem, k, aug), kind=AUGMENTED, source=src, number=k,
                        augmentation=aug,
                        seed=derive_seed(seed, name, unit, k))
            for k, aug in enumerate(own_types, start=1)
        )
        tasks.append(SourceTask(class_name=name, source=src, original=original, augmentations=augs,
                                window=window))
    return ClassPlan(name=name, usable=len(units), target=target, tasks=tuple(tasks))
