"""Step 2: a pool's groups split per class and written to the SQLite index, then checked.

Rows go in by class, then file path, so that one pool and one set of options give the
same database content (``created_at`` apart). ``original_file`` is the pool-relative
path (``<class>/<name>``) of the original each row comes from (the row itself for an
original); ``group_key`` is ``<class>/<key>``, the key being the original's source, or
the ``--group-pattern`` key, or the smallest of the keys merged with it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from .. import __version__
from ..errors import NightScanError, OutputConflictError, UsageError
from ..formats.index_db import FORMAT_VERSION, SCHEMA, SPLITS, TABLE
from ..formats.pool_reader import (
    Grouping,
    Pool,
    PoolFile,
    check_pool_dir,
    compile_group_pattern,
    cross_class_duplicates,
    examples,
    group_class,
    read_pool,
)
from ..io.atomic_write import atomic_path, remove_temporaries_of
from ..io.audio_files import is_inside
from ..io.run_lock import exclusive_run
from ..plans.seeds import derive_seed
from ..plans.split_plan import DEFAULT_RATIOS, SplitPlan, check_ratios, plan_split

DEFAULT_OUTPUT_DB = "balanced_audio_index.db"
DEFAULT_SEED = 42
TRAIN = SPLITS.index("train")
COLUMNS = ("file_path", "class_name", "is_augmented", "original_file", "augmentation_type",
           "split", "group_key")
_INSERT = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
#: The one index_info key that differs between two runs with the same pool and options.
_CREATED_AT = "created_at"

log = logging.getLogger("nightscan.index")


@dataclass(frozen=True)
class IndexOptions:
    """What decides an index's content besides the pool; recorded in ``index_info``.

    ``eval_originals_only`` leaves the augmentations of val and test groups out of the
    index; the plan is the same, so val and test hold the same originals either way.
    """

    ratios: tuple[float, ...] = DEFAULT_RATIOS
    seed: int = DEFAULT_SEED
    group_pattern: str | None = None
    eval_originals_only: bool = False


@dataclass(frozen=True)
class ClassPlan:
    """One class's groups and where they go."""

    name: str
    grouping: Grouping
    plan: SplitPlan


@dataclass(frozen=True)
class ClassSummary:
    """One class of a written index: per split, in ``SPLITS`` order."""

    name: str
    groups: int
    plan: SplitPlan
    originals: tuple[int, ...]  # rows in the database
    augmented: tuple[int, ...]
    dropped: int  # augmentations left out by eval_originals_only

    @property
    def rows(self) -> tuple[int, ...]:
        return tuple(o + a for o, a in zip(self.originals, self.augmented, strict=True))


@dataclass
class IndexReport:
    """What ``build_index`` did, for the summary."""

    db_path: Path
    written: bool  # False when the existing index was already this run's
    classes: list[ClassSummary]
    leaking_groups: int
    warnings: list[str] = field(default_factory=list)


def build_index(pool_dir: str | os.PathLike, output_db: str | os.PathLike = DEFAULT_OUTPUT_DB,
                options: IndexOptions = IndexOptions(), *, overwrite: bool = False,
                progress: bool = False) -> IndexReport:
    """Split every class of a pool by whole groups and write the index to ``output_db``.

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
        keep = output.exists() and not overwrite
        if keep:  # refuse before the pool is read when the options alone differ
            _check_existing(output, info)
        pool = read_pool(root, progress=progress)
        info |= {"pool_metadata_sha256": pool.metadata_sha256,
                 "pool_listing_sha256": pool.listing_sha256()}
        if keep:
            _check_existing(output, info)
        plans = [plan_class(name, files, ratios=ratios, seed=options.seed, pattern=pattern)
                 for name, files in pool.classes.items()]
        if not keep:
            rows = (row for cp in tqdm(plans, desc="writing index", unit="class", disable=not progress,
                                       file=sys.stderr, leave=False)
                    for row in class_rows(cp, eval_originals_only=options.eval_originals_only))
            count = write_index(output, rows, info | {_CREATED_AT: _now()})
            log.debug("wrote %d rows to %s", count, output)
        counts = split_counts(output)
        summaries = [_summarise(cp, counts) for cp in plans]
        return IndexReport(output, not keep, summaries, count_leaking_groups(output),
                           _warnings(pool, plans))


def plan_class(name: str, files: Iterable[PoolFile], *, ratios: tuple[float, ...], seed: int,
               pattern: re.Pattern[str] | None = None) -> ClassPlan:
    """Group one class and plan its split, with a seed derived from the run's and the class's.

    A seed per class means that adding or removing a class leaves the others' splits as
    they were.
    """
    grouping = group_class(files, pattern=pattern)
    sizes = [len(g.files) for g in grouping.groups]
    return ClassPlan(name, grouping, plan_split(sizes, ratios, seed=derive_seed(seed, name)))


def class_rows(cp: ClassPlan, *, eval_originals_only: bool = False) -> list[tuple]:
    """One class's rows in ``COLUMNS`` order, sorted by file path."""
    name = cp.name
    originals: dict[str, str] = {}
    for group in cp.grouping.groups:
        for f in group.files:
            if not f.is_augmented:
                originals.setdefault(f.source, f.name)
    rows = []
    for group, split in zip(cp.grouping.groups, cp.plan.assignment, strict=True):
        for f in group.files:
            if eval_originals_only and split != TRAIN and f.is_augmented:
                continue
            rows.append((f"{name}/{f.name}", name, int(f.is_augmented),
                         f"{name}/{originals.get(f.source, f.source)}", f.augmentation,
                         SPLITS[split], f"{name}/{group.key}"))
    rows.sort()
    return rows


def write_index(db_path: str | os.PathLike, rows: Iterable[tuple],
                info: Mapping[str, str]) -> int:
    """Write a whole index (schema, ``rows`` in ``COLUMNS`` order, ``info``); return the rows.

    The database is built in a temporary file beside ``db_path`` and renamed onto it, so
    journaling and syncing during the build buy nothing: they are off, and the file is
    synced once before the rename. An existing ``db_path`` is replaced.
    """
    with atomic_path(db_path) as tmp:
        con = sqlite3.connect(tmp)
        try:
            con.execute("PRAGMA journal_mode=OFF")
            con.execute("PRAGMA synchronous=OFF")
            con.executescript(SCHEMA)
            count = con.executemany(_INSERT, rows).rowcount
            con.executemany("INSERT INTO index_info (key, value) VALUES (?, ?)", sorted(info.items()))
            con.commit()
        except sqlite3.Error as exc:  # a full disk, mostly: a message, not a traceback
            raise NightScanError(f"cannot write the index {db_path} ({exc}); free space or fix "
                                 "permissions and rerun") from None
        finally:
            con.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return count


def _connect_read_only(db_path: Path) -> sqlite3.Connection:
    """A read-only connection (a URI, so names with spaces or '?' are safe)."""
    return sqlite3.connect(f"{db_path.absolute().as_uri()}?mode=ro", uri=True)


def read_index_info(db_path: str | os.PathLike) -> dict[str, str] | None:
    """An index's ``index_info`` as a dict, or None for a file that is not such an index."""
    try:
        con = _connect_read_only(Path(db_path))
        try:
            return dict(con.execute("SELECT key, value FROM index_info"))
        finally:
            con.close()
    except sqlite3.Error:
        return None


def count_leaking_groups(db_path: str | os.PathLike) -> int:
    """Groups found in more than one split, counted in the database itself: must be 0."""
    con = _connect_read_only(Path(db_path))
    try:
        return con.execute(f"SELECT COUNT(*) FROM (SELECT group_key FROM {TABLE} GROUP BY group_key "
                           "HAVING COUNT(DISTINCT split) > 1)").fetchone()[0]
    finally:
        con.close()


def split_counts(db_path: str | os.PathLike) -> dict[tuple[str, str, int], int]:
    """Rows per (class, split, is_augmented), as the database holds them."""
    con = _connect_read_only(Path(db_path))
    try:
        cur = con.execute(f"SELECT class_name, split, is_augmented, COUNT(*) FROM {TABLE} "
                          "GROUP BY class_name, split, is_augmented")
        return {(c, s, a): n for c, s, a, n in cur}
    finally:
        con.close()


def _check_output(output: Path, pool_root: Path) -> Path:
    """The output must be a file outside the pool (the pool is never written to)."""
    if output.is_dir():
        raise UsageError(f"--output-db {output} is a folder; give a file name")
    if is_inside(output, pool_root):
        raise UsageError(f"--output-db {output} is inside the pool folder {pool_root}, which is "
                         "never written to; choose a path outside it")
    return output


def _options_info(options: IndexOptions, pool_root: Path, output: Path) -> dict[str, str]:
    """``index_info`` values fixed by the options (the pool's fingerprints come later).

    ``pool_dir`` is relative to the database's folder, so that the two can move together.
    """
    pool_rel = os.path.relpath(pool_root.resolve(), output.resolve().parent)
    return {
        "format_version": str(FORMAT_VERSION),
        "tool_version": __version__,
        "pool_dir": Path(pool_rel).as_posix(),
        "seed": str(options.seed),
        "ratios": json.dumps(dict(zip(SPLITS, options.ratios, strict=True))),
        "group_pattern": options.group_pattern or "",
        "eval_originals_only": str(int(options.eval_originals_only)),
    }


def _check_existing(output: Path, info: Mapping[str, str]) -> None:
    """Refuse an existing output unless it is an index of this pool with these options."""
    advice = "pass --overwrite to replace it, or choose another --output-db"
    old = read_index_info(output)
    if old is None:
        raise OutputConflictError(f"{output} already exists and is not a NightScan index; {advice}")
    for key, value in info.items():
        if old.get(key) != value:
            what = (f"its {key} differs" if key.endswith("_sha256")
                    else f"its {key} is {old.get(key)!r}, this run's {value!r}")
            raise OutputConflictError(f"{output} already exists, made from another pool or with "
                                      f"other options ({what}); {advice}")


def _summarise(cp: ClassPlan, counts: Mapping[tuple[str, str, int], int]) -> ClassSummary:
    """A class's figures: the plan's, and the rows the database holds."""
    originals = tuple(counts.get((cp.name, s, 0), 0) for s in SPLITS)
    augmented = tuple(counts.get((cp.name, s, 1), 0) for s in SPLITS)
    dropped = sum(cp.plan.counts) - sum(originals) - sum(augmented)
    return ClassSummary(cp.name, len(cp.grouping.groups), cp.plan, originals, augmented, dropped)


def _warnings(pool: Pool, plans: Iterable[ClassPlan]) -> list[str]:
    """What the summary should point out: none of it stops the run or changes its status."""
    warnings = list(pool.warnings)
    unmatched: list[str] = []
    copies = 0
    for cp in plans:
        if cp.plan.empty:
            n = len(cp.grouping.groups)
            warnings.append(f"class {cp.name!r} has {n} group(s), too few to fill every split: "
                            f"no {' or '.join(cp.plan.empty)} samples (NightScan's loader numbers "
                            "the classes of each split apart: a class missing from a split shifts "
                            "the labels of the classes after it there)")
        if cp.grouping.unmatched:
            unmatched.append(f"{cp.name} ({cp.grouping.unmatched})")
        copies += cp.grouping.copies
    if unmatched:
        warnings.append("originals that the group pattern does not match keep a group of their "
                        f"own, in {len(unmatched)} class(es): {examples(unmatched)}")
    if copies:
        warnings.append(f"{copies} original(s) have the same content as another original of their "
                        "class and share its group")
    dups = cross_class_duplicates(pool)
    if dups:
        warnings.append(f"{len(dups)} recording(s) appear in more than one class (same content), "
                        f"e.g. {' = '.join(dups[0])}; one recording under two labels is usually "
                        "a mistake")
    return warnings


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

