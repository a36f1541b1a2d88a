"""Helpers shared by the step-1 tests: build a pool in-process, read files back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from pathlib import Path

from nightscan_common.execution.cluster import RunOptions
from nightscan_common.steps.pool import PoolOptions, PoolReport
from nightscan_common.steps.pool import run_pool as run_step

SEED_COUNTS = {"asio_flammeus": 7, "bat": 25, "cricket": 60, "rain": 150}


def run_pool(root: Path, out: Path, **kw) -> PoolReport:
    """Step 1 with the content options and the run control given as flat keywords."""
    content = {f.name for f in fields(PoolOptions)}
    control = {f.name for f in fields(RunOptions)}
    options = PoolOptions(**{k: v for k, v in kw.items() if k in content})
    run = RunOptions(**{"num_workers": 2, "progress": False, **{k: v for k, v in kw.items() if k in control}})
    return run_step(root, out, options, run=run,
                    **{k: v for k, v in kw.items() if k not in content | control})


def tree_digest(folder: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Relative path -> sha256 of every file below ``folder`` (links followed)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in skip}


def metadata(out: Path) -> dict:
    return json.loads((out / "pool_metadata.json").read_text(encoding="utf-8"))


def without_timestamps(meta: dict) -> dict:
    return {k: v for k, v in meta.items() if k != "created_at"}
