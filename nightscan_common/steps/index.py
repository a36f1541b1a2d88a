"""Step 2: a pool's groups split, all classes at once, written to the SQLite index, then checked.

Rows go in by class, then file path, so that one pool and one set of options give the
same database content (``created_at`` apart). ``original_file`` is the pool-relative
path (``<class>/<name>``) of the original each row comes from (the row itself for an
original); ``group_key`` is the group's key over the whole pool, never a class's: the
recording (``<class>/<source>``, or an annotation clip's recording), or the
``--group-pattern`` key, or the smallest of the keys merged with it (content copies).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import __version__
from ..dsp.fingerprint import Fingerprint, group_duplicates
from ..errors import OutputConflictError, TaskFailed, UsageError
from ..execution.base import item_alarm
from ..execution.cluster import RunOptions
from ..formats.index_db import (
    FORMAT_VERSION,
    POOL_SHA_KEY,
    read_index_info,
    read_split_rows,
    split_counts,
    write_index,
)
from ..formats.pool_reader import (
    Pool,
    check_pool_dir,
    cross_class_duplicates,
    examples,
    read_pool,
)
from ..formats.provenance import guard
from ..formats.split_check import SplitCheck, check_index_splits
from ..io.atomic_write import json_text, remove_temporaries_of
from ..io.audio_files import is_inside
from ..io.run_lock import exclusive_run
from ..plans.content_groups import DuplicatePlan, plan_duplicates
from ..plans.grouping import compile_group_pattern, group_pool, pattern_key
from ..plans.index_plan import ClassPlan, OldSplits, PoolPlan, class_rows, original_rows, plan_pool
from ..plans.noise_splits import NoiseFix, keep_noise_in_split
from ..plans.split_plan import DEFAULT_RATIOS, SplitPlan, check_ratios
from ..vocabulary import SPLITS, plain
from .index_keep import KeepReport, difference, match_by_content, read_old_index
from .options import RUN, content_items

DEFAULT_OUTPUT_DB = "balanced_audio_index.db"
DEFAULT_SEED = 42
#: The one index_info key that differs between two runs with the same pool and options.
_CREATED_AT = "created_at"
#: The time budget of one class's ``--group-pattern`` matches: a base plus a share per
#: source. A usual pattern takes 0.2 to 0.6 us per source (measured over 750,000), so the
#: budget is thousands of times that; a pattern that backtracks without bound (``(a+)+$``
#: ran past 120 s on one 33-character stem) is stopped within it. Main thread only.
PATTERN_SECONDS = 1.0
PATTERN_SECONDS_PER_SOURCE = 1e-3

log = logging.getLogger("nightscan.index")


def _record_ratios(ratios: tuple[float, ...]) -> str:
    return json_text(dict(zip(SPLITS, ratios, strict=True)), indent=None, sort_keys=False)


@dataclass(frozen=True, kw_only=True)
class IndexOptions:
    """What decides an index's content besides the pool; recorded in ``index_info``.

    ``eval_originals_only`` leaves the augmentations of val and test groups out of the
    index; the plan is the same, so val and test hold the same originals either way.
    """

    ratios: tuple[float, ...] = field(default=DEFAULT_RATIOS, metadata={"record": _record_ratios})
    seed: int = DEFAULT_SEED
    group_pattern: str | None = None
    eval_originals_only: bool = False
    #: a class with an empty split, or one recording in two classes, stops the run: it decides
    #: whether an index is written, not what one holds
    strict: bool = field(default=False, metadata=RUN)

    def identity(self) -> dict[str, str]:
        """The ``index_info`` values of the options (what a rerun must match), derived from
        the fields: a field's own ``record`` if it has one, else None as "", a bool as 0/1."""
        out: dict[str, str] = {}
        for name, value, meta in content_items(self):
            record = meta.get("record")
            out[name] = (record(value) if record else "" if value is None
                         else str(int(value)) if isinstance(value, bool) else str(value))
        return out


@dataclass(frozen=True, kw_only=True)
class ClassSummary:
    """One class of a written index: per split, in ``SPLITS`` order."""

    name: str
    groups: int
    plan: SplitPlan
    originals: tuple[int, ...]  # rows in the database
    augmented: tuple[int, ...]
    dropped: int  # augmentations left out by eval_originals_only
    largest_group: int = 0  # the class's samples in its largest group: what bounds a deviation
    shared_groups: int = 0  # its groups that hold other classes too

    @property
    def rows(self) -> tuple[int, ...]:
        return tuple(o + a for o, a in zip(self.originals, self.augmented, strict=True))

    @property
    def deviation(self) -> tuple[int, ...]:
        """Per split, the plan's count minus its target (samples)."""
        return tuple(c - t for c, t in zip(self.plan.counts, self.plan.targets, strict=True))


@dataclass(frozen=True, kw_only=True)
class IndexReport:
    """What ``run_index`` did, for the summary."""

    db_path: Path
    written: bool  # False when the existing index was already this run's
    classes: list[ClassSummary]
    leaking_groups: int
    warnings: list[str] = field(default_factory=list)
    cross_class: list[list[str]] = field(default_factory=list)  # one recording in two classes or more
    kept: KeepReport | None = None  # the difference from the --keep-splits-from index
    check: SplitCheck = field(default_factory=SplitCheck)  # the invariant, read back from the index
    #: groups that hold several classes: (key, split, {class: samples}), by key
    shared_groups: list[tuple[str, str, dict[str, int]]] = field(default_factory=list)

    @property
    def status(self) -> int:
        """0 written and checked; 1 when the check on the written index failed (a group,
        recording, site or span in two splits) or one recording is in two classes."""
        return 1 if self.leaking_groups or not self.check.passed or self.cross_class else 0

    def to_dict(self) -> dict[str, Any]:
        return {**plain(self), "status": self.status}


def run_index(pool_dir: str | os.PathLike, output_db: str | os.PathLike = DEFAULT_OUTPUT_DB,
              options: IndexOptions = IndexOptions(), *, run: RunOptions = RunOptions(),
              keep_splits_from: str | os.PathLike | None = None, overwrite: bool = False) -> IndexReport:
    """Split the groups of a pool, all classes at once, write the index to ``output_db``, and
    check the invariant on what was written. Of ``run`` only ``progress`` applies: the step
    runs in this process.

    .. note:: An existing ``output_db`` is replaced only with ``overwrite``; without it,
       an index made from the same pool with the same options is left as it is (rerunning
       changes nothing) and anything else is refused with ``OutputConflictError``.
    """
    ratios = check_ratios(options.ratios)
    pattern = compile_group_pattern(options.group_pattern)
    root = check_pool_dir(pool_dir)
    output = _check_output(Path(output_db), root)
    info = _options_info(options, root, output)
    with exclusive_run(output, folder=False):  # a second run into the same index is refused
        remove_temporaries_of(output)  # left by a run that was killed while writing
        old = None
        if keep_splits_from is not None:  # read first: it may be the index replaced
            old = read_old_index(keep_splits_from)
            info |= {"kept_splits_from": _relative(Path(keep_splits_from), output),
                     "kept_splits_from_sha256": old.sha256}
        keep = output.exists() and not overwrite
        if keep:  # refuse before the pool is read when the options alone differ
            _check_existing(output, info)
        pool = read_pool(root, progress=run.progress)
        info |= {POOL_SHA_KEY: pool.metadata_sha256,
                 "pool_listing_sha256": pool.listing_sha256()}
        if keep:
            _check_existing(output, info)
        _check_pattern_time(pool, pattern)
        same = content_plan(pool)
        grouping = group_pool(pool.classes, pattern=pattern, content=_content_links(same),
                              root_relative=pool.root_relative)
        matches = match_by_content(old, pool) if old else None
        splits = (OldSplits(old.splits.files, old.splits.groups, matches.split_of) if old else None)
        planned = plan_pool(grouping, ratios=ratios, seed=options.seed, old=splits)
        plans, noise = keep_noise_in_split(planned.classes)
        cross = _cross_class(pool, same.cross_class)
        if options.strict:
            _refuse_if_strict(plans, cross)
        if not keep:
            rows = (row for cp in tqdm(plans, desc="writing index", unit="class",
                                       disable=not run.progress, file=sys.stderr, leave=False)
                    for row in class_rows(cp, eval_originals_only=options.eval_originals_only,
                                          leave_out=noise.left_out))
            originals = (row for cp in plans for row in original_rows(cp, grouping))
            balance = _balance_info(plans, planned)
            count = write_index(output, rows, info | balance | {_CREATED_AT: _now()}, originals=originals)
            log.debug("wrote %d rows to %s", count, output)
        counts = split_counts(output)
        summaries = [_summarise(cp, counts) for cp in plans]
        check = check_index_splits(output)
        return IndexReport(db_path=output, written=not keep, classes=summaries,
                           leaking_groups=len(check.groups),
                           warnings=_warnings(pool, plans, cross) + _noise_warnings(noise), cross_class=cross,
                           kept=(difference(old, planned, read_split_rows(output), matches) if old else None),
                           check=check, shared_groups=_shared_rows(planned))


def _check_pattern_time(pool: Pool, pattern: re.Pattern[str] | None) -> None:
    """``UsageError`` when ``pattern`` backtracks without bound on the pool's source names.

    The pattern is tried here, under an alarm, so that the grouping (a pure plan) can run
    it again with no signal of its own.
    """
    if pattern is None:
        return
    count = sum(len(files) for files in pool.classes.values())
    sources = sorted({f.source for files in pool.classes.values() for f in files})
    budget = PATTERN_SECONDS + PATTERN_SECONDS_PER_SOURCE * count
    try:
        with item_alarm(budget):
            for source in sources:
                pattern_key(source, pattern)
    except TaskFailed:
        raise UsageError(f"the group pattern {pattern.pattern!r} took more than {budget:g} s on "
                         f"{count} file names; it backtracks without bound (nested repeats "
                         "such as (a+)+): simplify it") from None


def _check_output(output: Path, pool_root: Path) -> Path:
    """The output must be a file outside the pool (the pool is never written to)."""
    if output.is_dir():
        raise UsageError(f"--output-db {output} is a folder; give a file name")
    if not os.path.lexists(output.absolute().parent):
        raise UsageError(f"--output-db {output}: its folder {output.absolute().parent} not found; "
                         "create it first, or choose another path")
    if is_inside(output, pool_root):
        raise UsageError(f"--output-db {output} is inside the pool folder {pool_root}, which is "
                         "never written to; choose a path outside it")
    return output


def _options_info(options: IndexOptions, pool_root: Path, output: Path) -> dict[str, str]:
    """``index_info`` values fixed by the options (the pool's fingerprints come later).

    ``pool_dir`` is relative to the database's folder, so that the two can move together.
    """
    return {
        "format_version": str(FORMAT_VERSION),
        "tool_version": __version__,
        "pool_dir": _relative(pool_root, output),
        **options.identity(),
    }


def _relative(path: Path, output: Path) -> str:
    return Path(os.path.relpath(path.resolve(), output.resolve().parent)).as_posix()


def _check_existing(output: Path, info: Mapping[str, str]) -> None:
    """Refuse an existing output unless it is an index of this pool with these options."""
    old = read_index_info(output)
    if old is None:
        raise OutputConflictError(f"{output} already exists and is not a NightScan index; pass "
                                  "--overwrite to replace it, or choose another --output-db")
    guard(output, "an index", {k: old.get(k) for k in info}, info, option="--output-db", overwrite=False)


def _summarise(cp: ClassPlan, counts: Mapping[tuple[str, str, int], int]) -> ClassSummary:
    """A class's figures: the plan's, and the rows the database holds."""
    originals = tuple(counts.get((cp.name, s, 0), 0) for s in SPLITS)
    augmented = tuple(counts.get((cp.name, s, 1), 0) for s in SPLITS)
    dropped = sum(cp.plan.counts) - sum(originals) - sum(augmented)
    return ClassSummary(name=cp.name, groups=len(cp.grouping.groups), plan=cp.plan, originals=originals,
                        augmented=augmented, dropped=dropped,
                        largest_group=cp.largest_group, shared_groups=len(cp.grouping.shared))


def _content_links(same: DuplicatePlan) -> dict[str, str]:
    """Each original of one content (``<class>/<name>``) -> the first name of its content
    group: within its class, and across classes (a cross-class copy joins one group)."""
    links = dict(same.group_of)
    for names in same.cross_class:
        first = min(names)
        links.update({n: first for n in names})
    return links


def _shared_rows(plan: PoolPlan) -> list[tuple[str, str, dict[str, int]]]:
    return [(key, SPLITS[plan.shared_splits[key]], classes) for key, classes in plan.grouping.shared.items()]


def _balance_info(plans: Iterable[ClassPlan], plan: PoolPlan) -> dict[str, str]:
    """``index_info`` values that say how close the split is: per class, each split's target and
    count (samples, before ``--eval-originals-only``), its largest group and its groups; and the
    groups that hold several classes, with their split and samples per class."""
    balance = {cp.name: {"targets": list(cp.plan.targets), "counts": list(cp.plan.counts),
                         "largest_group": cp.largest_group, "groups": len(cp.grouping.groups),
                         "shared_groups": len(cp.grouping.shared)} for cp in plans}
    shared = [[key, split, classes] for key, split, classes in _shared_rows(plan)]
    return {"split_balance": json_text(balance, indent=None, sort_keys=True),
            "shared_groups": json_text(shared, indent=None, sort_keys=True)}


def content_plan(pool: Pool) -> DuplicatePlan:
    """Originals of one content (by fingerprint), over the whole pool: names ``<class>/<file>``."""
    prints = {f"{c}/{f.name}": Fingerprint.from_text(f.fingerprint)
              for c, files in pool.classes.items() for f in files
              if not f.is_augmented and f.fingerprint is not None}
    return plan_duplicates(group_duplicates(prints), keep_duplicates=True)


def _cross_class(pool: Pool, by_content: list[list[str]]) -> list[list[str]]:
    """One recording in two classes or more: by fingerprint, and by sha256 for what that missed."""
    found = {name for names in by_content for name in names}
    extra = [sorted(names) for names in cross_class_duplicates(pool) if not found.intersection(names)]
    return sorted(by_content + extra)


def _refuse_if_strict(plans: Iterable[ClassPlan], cross: list[list[str]]) -> None:
    """``--strict``: what would be a warning stops the run before the index is written."""
    problems = [f"class {cp.name!r} has no {' or '.join(cp.plan.empty)} samples"
                for cp in plans if cp.plan.empty]
    problems += [f"one recording in two classes: {' = '.join(names)}" for names in cross]
    if problems:
        raise UsageError(f"--strict: {len(problems)} problem(s), no index written: {examples(problems)}")


def _warnings(pool: Pool, plans: Iterable[ClassPlan], cross: list[list[str]]) -> list[str]:
    """What the summary should point out: none of it stops the run or changes its status."""
    warnings = list(pool.warnings)
    unmatched: list[str] = []
    copies = 0
    short = False
    for cp in plans:
        if cp.plan.empty:
            short = True
            why = _why_short(cp)  # "too few ...: train and val get one each" goes on with a comma
            warnings.append(f"class {cp.name!r} has {len(cp.grouping.groups)} group(s), {why}"
                            f"{',' if ':' in why else ':'} no {' or '.join(cp.plan.empty)} samples")
        elif (far := _beyond_bound(cp)):
            warnings.append(f"class {cp.name!r}: {far}, more than its largest group "
                            f"({cp.largest_group}); groups that hold other classes too pull it there")
        if cp.grouping.unmatched:
            unmatched.append(f"{cp.name} ({cp.grouping.unmatched})")
        copies += cp.grouping.copies
    if short:  # once per run: why a class missing from a split matters
        warnings.append("NightScan's loader numbers the classes of each split apart: a class missing "
                        "from a split shifts the labels of the classes after it there")
    if unmatched:
        warnings.append("originals that the group pattern does not match keep a group of their "
                        f"own, in {len(unmatched)} class(es): {examples(unmatched)}")
    if copies:
        warnings.append(f"{copies} original(s) have the same content as another original of their "
                        "class and share its group")
    for names in cross:
        warnings.append(f"one recording in {len({n.split('/', 1)[0] for n in names})} classes (same "
                        f"content): {' = '.join(names)}; one recording under two labels is usually "
                        "a mistake")
    return warnings


def _why_short(cp: ClassPlan) -> str:
    """Why a class has an empty split, as it happened: too few groups (each held split got one),
    groups an older index pins (``--keep-splits-from`` never moves them), or groups that hold
    other classes too (moving one would empty a split of another class)."""
    held = [s for i, s in enumerate(SPLITS) if i in cp.plan.assignment]
    groups = len(cp.grouping.groups)
    if len(held) >= min(groups, len(held) + len(cp.plan.empty)):
        return (f"too few to fill every split: {_and(held)} "
                f"{'gets it' if groups == 1 else 'get one each'}")
    old = [m.split for m in cp.kept.merges] + [cp.plan.assignment[g] for g in cp.kept.kept] if cp.kept else []
    if not old:
        return (f"{len(cp.grouping.shared)} of them hold other classes too, and moving one would empty "
                "a split of another class")
    where = ", ".join(f"{old.count(i)} in {s}" for i, s in enumerate(SPLITS) if i in old)
    why = (f"{len(old)} of them keep their split from the older index ({where}), which "
           "--keep-splits-from never moves")
    if cp.grouping.shared:
        return f"{why}, and {len(cp.grouping.shared)} hold other classes too"
    return f"{why}; an index built without it fills {_and(_fillable(cp, held))}"


def _fillable(cp: ClassPlan, held: list[str]) -> list[str]:
    """The empty splits a fresh build fills: as many as the class has groups, largest ratio
    first (the targets' order, then ``SPLITS``'), as ``plan_split`` repairs them."""
    room = len(cp.grouping.groups) - len(held)
    order = sorted(cp.plan.empty, key=lambda s: (-cp.plan.targets[SPLITS.index(s)], SPLITS.index(s)))
    return sorted(order[:room], key=SPLITS.index)


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _beyond_bound(cp: ClassPlan) -> str:
    """The splits further from their targets than the class's largest group, when every split
    with a target could hold that group (below that, a whole group may have to overshoot)."""
    plan, largest = cp.plan, cp.largest_group
    if not cp.grouping.shared or any(0 < t < largest for t in plan.targets):
        return ""
    far = [f"{s} has {c} samples for a target of {t}"
           for s, c, t in zip(SPLITS, plan.counts, plan.targets, strict=True) if abs(c - t) >= largest]
    return "; ".join(far)


def _noise_warnings(noise: NoiseFix) -> list[str]:
    """What keeping class noise within its split took (``--background-noise-class``)."""
    said = []
    if noise.swapped:
        said.append(f"{noise.swapped} val or test group(s) mixed with noise from another split's recording "
                    "traded places with a train group of the same size")
    if noise.left_out:
        said.append(f"{len(noise.left_out)} val or test file(s) mixed with noise from another split's "
                    f"recording, with no train group to trade places with, are left out: "
                    f"{examples(sorted(noise.left_out))}")
    if noise.train_mixed_with_eval:
        said.append(f"{noise.train_mixed_with_eval} train file(s) are mixed with noise from a val or test "
                    "recording of the noise class: that noise is heard in training, as background")
    return said


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

