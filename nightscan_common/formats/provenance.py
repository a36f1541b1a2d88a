"""The provenance guard of every output (pool, index, spectrograms, demo data), one message.

An output records the options that made it; a rerun with other options is refused,
naming what changed, unless ``--overwrite`` asks to replace it. An index records the
checksum of the pool metadata it was made from: step 3 and the report refuse an index
made from another pool (``check_index_pool``) unless ``--allow-pool-mismatch``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

from ..errors import OutputConflictError, UsageError

#: The option that takes an index made from another pool, in step 3 and the report.
ALLOW_POOL_MISMATCH = "--allow-pool-mismatch"

#: A recorded value longer than this is a fingerprint: "differs" says enough.
_SHOWN_LENGTH = 40


def _shown(value: Any) -> str:
    return "none" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """``key old -> new`` for each key whose recorded value differs, sorted by key."""
    old = old or {}
    out = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        a, b = _shown(before), _shown(after)
        out.append(f"{key} differs" if max(len(a), len(b)) > _SHOWN_LENGTH else f"{key} {a} -> {b}")
    return out


def refuse(where: str | Path, what: str, changed: list[str], *, option: str) -> NoReturn:
    """The one refusal: ``<where> holds <what> made with other options (...); use --overwrite ...``."""
    raise OutputConflictError(f"{where} holds {what} made with other options ({', '.join(changed)}); "
                              f"use --overwrite to replace it, or choose another {option}")


def guard(where: str | Path, what: str, old: Mapping[str, Any] | None, new: Mapping[str, Any], *,
          option: str, overwrite: bool) -> bool:
    """Whether the recorded options differ from this run's; refuse unless ``overwrite``."""
    changed = changes(old, new)
    if changed and not overwrite:
        refuse(where, what, changed, option=option)
    return bool(changed)


def check_index_pool(index_db: str | Path, recorded: str | None, pool_metadata: str | Path,
                     current: str | None, *, allow: bool) -> str | None:
    """Refuse (``UsageError``, one line naming both checksums) an index whose recorded pool
    checksum is not the pool's; with ``allow``, return that line as a warning. Nothing to
    compare (an earlier index, a pool without metadata) passes."""
    if not recorded or not current or recorded == current:
        return None
    said = (f"{index_db} was made from another pool: it records pool_metadata.json sha256 {recorded}, "
            f"{pool_metadata} has sha256 {current}")
    if not allow:
        raise UsageError(f"{said}; give the pool it was made from, rebuild the index with "
                         f"create_balanced_index.py, or pass {ALLOW_POOL_MISMATCH} if you know")
    return said
