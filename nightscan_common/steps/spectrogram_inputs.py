"""Step 3's version record: what each spectrogram and the whole folder were made from.

A job's ``source_id`` is the pool file's size, mtime and inode: step 1 writes every
file under a temporary name and renames it, so a file it remade has a new identity
even under the same name. A pool file that is a link (``--link-mode symlink``, or a
hard link: more than one name for its inode) can be rewritten in place under the
same identity, so its content's sha256 is part of its ``source_id``
(``size:mtime_ns:inode:sha256``), hashed on every run; with ``verify`` every pool
file is hashed so. A plain file checked by content once keeps that record while its
identity holds. The folder's config records the index's rows and the pool listing's
checksum the index itself recorded.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..formats.index_db import read_index_info
from ..formats.source_cache import file_identity, listing_sha256
from ..io.file_hash import file_sha256
from ..vocabulary import Job

#: The index_info keys that say which pool the index was made from, and that two builds of
#: one data set share (``pool_metadata_sha256`` covers the metadata's timestamp too).
POOL_KEYS = ("pool_listing_sha256",)


def source_id(path: str | os.PathLike) -> str:
    """``size:mtime_ns:inode`` of a pool file (links followed), or "" when it cannot be read."""
    try:
        return ":".join(map(str, file_identity(path)))
    except OSError:
        return ""


def may_change_in_place(path: str | os.PathLike) -> bool:
    """Whether a pool file's bytes can change while its size, mtime and inode stay: it is a
    symbolic link, or a hard link (its inode has other names, e.g. the audio root's file)."""
    try:
        return os.path.islink(path) or os.stat(path).st_nlink > 1
    except OSError:
        return False


def content_id(path: str | os.PathLike, identity: str) -> str:
    """``identity:sha256`` of a regular file; ``identity`` alone for one that cannot be hashed
    (a missing or special file: the job fails on it with its reason)."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return identity
        return f"{identity}:{file_sha256(path)}"
    except OSError:
        return identity


def checked_source_id(path: str | os.PathLike, *, verify: bool, previous: str | None) -> tuple[str, bool]:
    """A job's ``source_id`` and whether the file was hashed for it.

    Hashed when the file may change in place, or with ``verify``; else its identity, or
    the content record ``previous`` made under that very identity (checked then, trusted now).
    """
    identity = source_id(path)
    if identity and (verify or may_change_in_place(path)):
        return content_id(path, identity), True
    if identity and previous and previous.startswith(identity + ":"):
        return previous, False
    return identity, False


def with_source_ids(jobs: Sequence[Job], pool_root: Path, *, verify: bool, previous: Mapping[str, str],
                    progress: bool) -> tuple[list[Job], int]:
    """Each job with its ``source_id`` (``checked_source_id``); and how many files were hashed."""
    checked, hashed = [], 0
    for job in tqdm(jobs, desc="checking the pool", unit="file", disable=not progress, file=sys.stderr,
                    leave=False):
        made, by_content = checked_source_id(pool_root / job.source, verify=verify,
                                             previous=previous.get(job.key))
        checked.append(replace(job, source_id=made))
        hashed += by_content
    return checked, hashed


def index_inputs(index_db: str | os.PathLike, jobs: Sequence[Job]) -> dict[str, Any]:
    """The index's rows (key and source) as one checksum, and the pool's checksums it holds."""
    info = read_index_info(index_db) or {}
    return {"index_rows": len(jobs), "index_sha256": listing_sha256((j.key, j.source) for j in jobs),
            **{k: info[k] for k in POOL_KEYS if k in info}}
