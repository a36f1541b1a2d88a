"""Step 3's plan (pure): one job per usable index row, keyed by where the loader looks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..errors import UsageError
from ..formats.index_db import IndexRow, row_problem
from ..vocabulary import Failure, Job, job_key

_SHOWN_CONFLICTS = 5



def unsafe_reason(row: IndexRow) -> str | None:
    """Why a row's paths could reach outside the pool or the output folder, or None
    (``index_db.row_problem``: the one rule for every reader of an index's rows)."""
    return row_problem(row.file_path, row.class_name, row.split)



def plan_jobs(rows: Iterable[IndexRow]) -> tuple[list[Job], list[Failure]]:
    """One job per usable row, sorted by key, and the rows refused as unsafe.

    ``UsageError`` when two rows would make one spectrogram: reported before any
    work, since one would silently replace the other.
    """
    jobs: list[Job] = []
    refused: list[Failure] = []
    for row in rows:
        reason = unsafe_reason(row)
        if reason:
            refused.append(Failure(str(row.file_path), reason, str(row.split)))
            continue
        jobs.append(Job(key=job_key(row.split, row.class_name, row.file_path), source=row.file_path,
                        split=row.split))
    jobs.sort()
    _refuse_shared_keys(jobs)
    return jobs, sorted(refused)


def _refuse_shared_keys(jobs: Sequence[Job]) -> None:
    by_key: dict[str, list[str]] = defaultdict(list)
    for job in jobs:
        by_key[job.key].append(job.source)
    shared = {k: s for k, s in by_key.items() if len(s) > 1}
    if not shared:
        return
    shown = "; ".join(f"{k} <- {', '.join(s)}" for k, s in sorted(shared.items())[:_SHOWN_CONFLICTS])
    more = f" (and {len(shared) - _SHOWN_CONFLICTS} more)" if len(shared) > _SHOWN_CONFLICTS else ""
    raise UsageError(
        f"{len(shared)} spectrogram(s) would each be made from several index rows: {shown}{more}; "
        "give those recordings distinct names in the pool and rebuild the index")
