"""Step 3's plan (pure): one job per usable index row, keyed by where the loader looks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from ..errors import UsageError
from ..formats.index_db import IndexRow
from ..vocabulary import SPLITS, Failure, Job, job_key

_SHOWN_CONFLICTS = 5



def unsafe_reason(row: IndexRow) -> str | None:
    """Why a row's paths could reach outside the pool or the output folder, or None.

    Index rows come from a file anyone can edit: ``..``, absolute paths and NUL are
    refused rather than followed.
    """
    for name in ("file_path", "class_name"):
        value = getattr(row, name)
        if not isinstance(value, str) or not value:
            return f"{name} is not a non-empty text ({value!r})"
        if "\x00" in value:
            return f"{name} holds a NUL character"
    if row.file_path.startswith("/"):
        return f"file_path is absolute ({row.file_path!r}); the index holds paths relative to the pool"
    if any(part in ("", ".", "..") for part in row.file_path.split("/")):
        return f"file_path is not a plain relative path ({row.file_path!r}): it could escape the pool"
    if "/" in row.class_name or row.class_name in (".", ".."):
        return f"class_name is not a plain folder name ({row.class_name!r}): it could escape the output"
    if row.split not in SPLITS:
        return f"split is not one of {', '.join(SPLITS)} ({row.split!r})"
    return None



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
        jobs.append(Job(job_key(row.split, row.class_name, row.file_path), row.file_path, row.split))
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
