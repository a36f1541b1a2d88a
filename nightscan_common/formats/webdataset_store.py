"""The WebDataset layout: per split, tar shards of about ``shard_size`` samples each.

    <out>/shards/<split>-000000.tar, <split>-000001.tar, ...
        000000000.json   {"class": ..., "class_index": ..., "group": ..., "source": ...}
        000000000.npy    the spectrogram, the very bytes of the tree layout's file
        000000001.json ...

A sample's name is its row in the split's key order (``catalog``), nine digits; shard
``i`` holds rows ``i * shard_size`` to ``(i + 1) * shard_size - 1``, less any whose
spectrogram failed. Tar headers carry no time, owner or mode of their own (mtime 0,
uid/gid 0, mode 0644, ustar), so the bytes depend on the samples alone. The
``webdataset`` package reads the shards (``wds.WebDataset(urls).decode()``), and so does
``tarfile``.

Workers write each sample's ``.npy`` below ``shards/.staging/`` with the tree layout's
writer (atomically); the parent writes a shard, atomically, as soon as all its samples
are staged, then deletes them. A rerun keeps the finished shards and the staged samples
and makes the rest. While a split is being built ``shards/.<split>.building`` exists
(it holds the plan's digest); readers refuse the split until ``finalize`` has written
the last shards and removed it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UnfinishedLayoutError, UsageError
from ..io.atomic_write import atomic_path, remove_temporaries, write_bytes
from ..plans.spectrogram_plan import Job, job_key
from .catalog import ArraySpec, PlannedSample, SampleCatalog, disk_usage, plan_digest
from .index_db import SPLITS
from .tree_store import SUFFIX, TreeWriter, key_path

SHARDS_DIR = "shards"
DEFAULT_SHARD_SIZE = 1000
STAGING_DIR = ".staging"
_NAME = re.compile(r"^(\d{9})\.(json|npy)$")


def shard_path(out_dir: str | os.PathLike, split: str, index: int) -> Path:
    return Path(out_dir) / SHARDS_DIR / f"{split}-{index:06d}.tar"


def shard_paths(out_dir: str | os.PathLike, split: str) -> list[Path]:
    """The split's shards on disk, in order."""
    folder = Path(out_dir) / SHARDS_DIR
    pattern = re.compile(rf"^{re.escape(split)}-\d{{6}}\.tar$")
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if pattern.match(p.name) and p.is_file() and not p.is_symlink())


def _marker(out_dir: Path, split: str) -> Path:
    return out_dir / SHARDS_DIR / f".{split}.building"


def check_finished(out_dir: str | os.PathLike, split: str) -> None:
    """Refuse a split that is being built, was interrupted, or was never built."""
    out_dir = Path(out_dir)
    if _marker(out_dir, split).exists():
        raise UnfinishedLayoutError(
            f"{out_dir / SHARDS_DIR} split {split!r} is unfinished (a run is building it or was "
            "interrupted); rerun step 3 with --layout webdataset to finish it")
    if not shard_paths(out_dir, split):
        raise UsageError(f"no webdataset split {split!r} in {out_dir / SHARDS_DIR}")


def sample_name(row: int) -> str:
    return f"{row:09d}"


def sample_json(sample: PlannedSample) -> bytes:
    record = {"class": sample.class_name, "class_index": sample.class_index,
              "group": sample.group_key, "source": sample.source}
    return json.dumps(record, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _tar_member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _read_members(path: Path) -> dict[int, dict[str, bytes]]:
    """Row -> {"json": bytes, "npy": bytes-or-empty} of a shard (only the JSON is read)."""
    rows: dict[int, dict[str, bytes]] = {}
    try:
        with tarfile.open(path, "r") as tar:
            for member in tar:
                match = _NAME.match(member.name)
                if not match or not member.isfile():
                    return {}
                data = tar.extractfile(member).read() if match[2] == "json" else b""
                rows.setdefault(int(match[1]), {})[match[2]] = data
    except (OSError, tarfile.TarError):
        return {}
    return rows


@dataclass
class _Split:
    """A split being built: its rows, what each shard holds, what is staged."""

    samples: list[PlannedSample]
    row_of: dict[str, int]
    good: dict[int, set[int]] = field(default_factory=dict)   # shard -> rows it holds as planned
    exact: set[int] = field(default_factory=set)              # shards holding no other rows
    staged: set[int] = field(default_factory=set)


class WebDatasetStore:
    """``SpectrogramStore`` of the WebDataset layout (see the module's docstring)."""

    layout = "webdataset"

    def __init__(self, out_dir: str | os.PathLike, *, spec: ArraySpec, catalog: SampleCatalog,
                 shard_size: int = DEFAULT_SHARD_SIZE):
        if shard_size < 1:
            raise UsageError(f"--shard-size must be at least 1, got {shard_size}")
        self.out_dir = Path(out_dir)
        self.spec = spec
        self.catalog = catalog
        self.shard_size = shard_size
        self._splits: dict[str, _Split] = {}
        self._building: set[str] = set()

    @property
    def staging(self) -> Path:
        return self.out_dir / SHARDS_DIR / STAGING_DIR

    # --- parent side ------------------------------------------------------------------

    def holds_output(self) -> bool:
        return bool(self._own_files())

    def prepare(self, jobs: Sequence[Job], *, overwrite: bool) -> None:
        """Find the shards that are as planned and the samples staged; mark unfinished splits."""
        if overwrite:
            self.remove_own()
        self._splits, self._building = {}, set()
        for split, samples in self.catalog.plan(jobs).items():
            state = _Split(samples, {s.key: row for row, s in enumerate(samples)})
            self._splits[split] = state
            digest = plan_digest(samples, self.spec, shard_size=self.shard_size)
            marker = _marker(self.out_dir, split)
            if marker.exists() and marker.read_text(encoding="ascii").strip() != digest:
                shutil.rmtree(self.staging / split, ignore_errors=True)  # staged for another plan
            self._scan_shards(split, state)
            state.staged = self._scan_staged(split, state) - {r for g in state.good.values() for r in g}
            complete = not state.staged and all(
                shard in state.exact and state.good[shard] == set(self._rows(state, shard))
                for shard in range(self._shard_count(state))) and not self._stale_shards(split, state)
            if not complete or marker.exists():
                write_bytes(marker, f"{digest}\n".encode("ascii"))
                self._building.add(split)

    def done(self, jobs: Sequence[Job]) -> set[str]:
        keys = set()
        for state in self._splits.values():
            rows = state.staged.union(*state.good.values())
            keys.update(state.samples[r].key for r in rows)
        return {job.key for job in jobs if job.key in keys}

    def writer(self) -> TreeWriter:
        return TreeWriter(str(self.staging))

    def record(self, job: Job, receipt: dict) -> None:
        """Note a staged sample; write its shard once every sample of it is there."""
        state = self._splits[job.split]
        row = state.row_of[job.key]
        state.staged.add(row)
        shard = row // self.shard_size
        if all(r in state.staged or r in state.good.get(shard, ()) for r in self._rows(state, shard)):
            self._pack(job.split, state, shard)

    def finalize(self) -> None:
        """Write the shards left (those missing failed samples), drop stale ones, unmark."""
        for split in sorted(self._building):
            state = self._splits[split]
            count = self._shard_count(state)
            for shard in range(count):
                held = {r for r in self._rows(state, shard) if r in state.staged}
                held |= state.good.get(shard, set())
                if not held:
                    shard_path(self.out_dir, split, shard).unlink(missing_ok=True)
                elif shard not in state.exact or held != state.good.get(shard):
                    self._pack(split, state, shard)
            for path in self._stale_shards(split, state):
                path.unlink()
            shutil.rmtree(self.staging / split, ignore_errors=True)
            _marker(self.out_dir, split).unlink()
        with contextlib.suppress(OSError):
            self.staging.rmdir()
        self._building = set()

    def sweep(self) -> int:
        """Remove temporaries of killed writes (staged samples are kept: a rerun packs them)."""
        folder = self.out_dir / SHARDS_DIR
        return remove_temporaries(folder) if folder.is_dir() else 0

    def count_unlisted(self, splits: Sequence[str]) -> int:
        """Always 0: a split is rebuilt to hold exactly the samples planned."""
        return 0

    def remove_own(self) -> int:
        """Delete every split's shards, markers and staged samples; return how many files went."""
        removed = 0
        for path in self._own_files():
            path.unlink()
            removed += 1
        folder = self.out_dir / SHARDS_DIR
        if folder.is_dir() and not folder.is_symlink():
            removed += remove_temporaries(folder)
            shutil.rmtree(self.staging, ignore_errors=True)
            with contextlib.suppress(OSError):
                folder.rmdir()
        return removed

    def bytes_on_disk(self) -> int:
        return disk_usage(self._own_files())

    def read(self, key: str) -> np.ndarray:
        """The array of ``key``, from its shard; ``KeyError`` if the split has no such sample."""
        split = key.split("/", 1)[0]
        check_finished(self.out_dir, split)
        for path in shard_paths(self.out_dir, split):
            for row, member in _read_members(path).items():
                meta = json.loads(member["json"])
                if job_key(split, meta["class"], meta["source"]) == key:
                    with tarfile.open(path) as tar:
                        return np.load(io.BytesIO(tar.extractfile(f"{sample_name(row)}.npy").read()))
        raise KeyError(key)

    # --- helpers ----------------------------------------------------------------------

    def _shard_count(self, state: _Split) -> int:
        return -(-len(state.samples) // self.shard_size)

    def _rows(self, state: _Split, shard: int) -> range:
        return range(shard * self.shard_size, min(len(state.samples), (shard + 1) * self.shard_size))

    def _stale_shards(self, split: str, state: _Split) -> list[Path]:
        """Shards past the plan's last (left by a run over a larger index)."""
        count = self._shard_count(state)
        return [p for p in shard_paths(self.out_dir, split) if int(p.stem.rsplit("-", 1)[1]) >= count]

    def _scan_shards(self, split: str, state: _Split) -> None:
        for shard in range(self._shard_count(state)):
            path = shard_path(self.out_dir, split, shard)
            members = _read_members(path) if path.exists() else {}
            planned = self._rows(state, shard)
            good = {r for r, m in members.items() if r in planned and "npy" in m
                    and m.get("json") == sample_json(state.samples[r])}
            if members:
                state.good[shard] = good
                if set(members) == good:
                    state.exact.add(shard)

    def _scan_staged(self, split: str, state: _Split) -> set[int]:
        rows = set()
        for dirpath, _dirs, names in os.walk(self.staging / split):
            rel = Path(dirpath).relative_to(self.staging).as_posix()
            keys = (f"{rel}/{n[: -len(SUFFIX)]}" for n in names if n.endswith(SUFFIX))
            rows.update(state.row_of[k] for k in keys if k in state.row_of)
        return rows

    def _pack(self, split: str, state: _Split, shard: int) -> None:
        """Write shard ``shard`` atomically from its staged samples and its old tar, then unstage."""
        path = shard_path(self.out_dir, split, shard)
        rows = [r for r in self._rows(state, shard) if r in state.staged or r in state.good.get(shard, ())]
        old = tarfile.open(path) if state.good.get(shard) else None
        try:
            with atomic_path(path) as tmp, tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tar:
                for row in rows:
                    sample = state.samples[row]
                    if row in state.staged:
                        data = key_path(self.staging, sample.key).read_bytes()
                    else:
                        data = old.extractfile(f"{sample_name(row)}.npy").read()
                    for name, payload in ((f"{sample_name(row)}.json", sample_json(sample)),
                                          (f"{sample_name(row)}.npy", data)):
                        tar.addfile(_tar_member(name, len(payload)), io.BytesIO(payload))
        finally:
            if old is not None:
                old.close()
        for row in rows:
            if row in state.staged:
                key_path(self.staging, state.samples[row].key).unlink()
                state.staged.discard(row)
        state.good[shard] = set(rows)
        state.exact.add(shard)

    def _own_files(self) -> list[Path]:
        found = [p for split in SPLITS for p in shard_paths(self.out_dir, split)]
        found += [_marker(self.out_dir, s) for s in SPLITS if _marker(self.out_dir, s).is_file()]
        if self.staging.is_dir():
            found += [Path(d) / n for d, _, names in os.walk(self.staging) for n in names]
        return found
