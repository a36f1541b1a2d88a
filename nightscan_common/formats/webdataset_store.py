"""The WebDataset layout: per split, tar shards of ``shard_size`` samples each, built in place.

    <out>/shards/<split>-000000.tar, <split>-000001.tar, ...
        000000000.json   {"class": ..., "class_index": ..., "group": ..., "source": ...}
        000000000.npy    the spectrogram, the very bytes of the tree layout's file

A sample is named by its row in the split's key order (``catalog``); shard ``i`` holds
rows ``i * shard_size`` to ``(i + 1) * shard_size - 1``, less any whose spectrogram
failed. Shards are plain ustar archives whose bytes depend on the samples alone
(``tar_shards``): the ``webdataset`` package reads them, and so does ``tarfile``.

The build works as the packed layout's: ``prepare`` writes the split's journal
(``.<split>.journal``, the plan's digest first), its sorted keys and each row's byte
offset (``.<split>.keys.npy``, ``.<split>.offsets.npy``), and each shard under a hidden
name (``.<split>-000000.tar.partial``) but for its arrays, which the workers write into
their slots (``slots.SlotWriter``) while the parent journals them. A shard whose rows
are all written is renamed into place at once. ``finalize`` rewrites the shards that
lack failed rows, drops stale ones and deletes the journal last; readers refuse a split
whose journal exists. A sample is kept or copied only when the folder's source manifest
(``shards/.spectrogram_sources.jsonl``) says it was made from the pool file as it is
now; one whose file changed is recomputed. ``finalize`` records the keys of the split's
rows (``shards/.<split>.rows.npy``): a split without that record (written by an earlier
version) is rebuilt once, from its own shards.

``ShardRows`` reads a finished split at the offsets of its members, found once from the
tar headers; a shard cut short, or holding other rows than step 3 recorded, is a
``DamagedLayoutError``.
"""

from __future__ import annotations

import io
import json
import os
import re
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DamagedLayoutError, UnfinishedLayoutError, UsageError
from ..io.atomic_write import atomic_path
from ..vocabulary import Job, job_key
from .catalog import ArraySpec, PlannedSample, SampleCatalog, plan_digest
from .in_place import Build, InPlaceStore, read_rows, recorded_count, rows_path, write_rows
from .layout_registry import Layout, Rows, StoreFacts, register
from .slots import (
    SlotTarget,
    SlotWriter,
    npy_header,
    pwrite_all,
    read_journal,
    start_journal,
    write_slot_index,
)
from .tar_shards import read_members, sample_json, sample_name, shard_layout, write_shard

SHARDS_DIR = "shards"
DEFAULT_SHARD_SIZE = 1000
_PARTIAL = ".tar.partial"  # a shard being written: ".<split>-000000.tar.partial"


def shard_path(out_dir: str | os.PathLike, split: str, index: int) -> Path:
    return Path(out_dir) / SHARDS_DIR / f"{split}-{index:06d}.tar"


def _partial(out_dir: Path, split: str, index: int) -> Path:
    return out_dir / SHARDS_DIR / f".{split}-{index:06d}{_PARTIAL}"


def journal_path(out_dir: str | os.PathLike, split: str) -> Path:
    return Path(out_dir) / SHARDS_DIR / f".{split}.journal"


def _table(out_dir: Path, split: str, name: str) -> Path:
    return out_dir / SHARDS_DIR / f".{split}.{name}.npy"


def shard_paths(out_dir: str | os.PathLike, split: str, *, partial: bool = False) -> list[Path]:
    """The split's shards on disk (or their partial files), in order."""
    folder = Path(out_dir) / SHARDS_DIR
    name = (rf"\.{re.escape(split)}-\d{{6}}{re.escape(_PARTIAL)}" if partial
            else rf"{re.escape(split)}-\d{{6}}\.tar")
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if re.fullmatch(name, p.name) and p.is_file()
                  and not p.is_symlink())


def _shard_number(path: Path) -> int:
    return int(re.search(r"-(\d{6})\.tar", path.name)[1])


def _sample_of(split: str, meta: bytes | None) -> tuple[str, str] | None:
    """The source a sample's JSON names and the sample's key, or None for JSON that is not ours."""
    try:
        record = json.loads(meta)
        return record["source"], job_key(split, record["class"], record["source"])
    except (TypeError, ValueError, KeyError):
        return None


def check_finished(out_dir: str | os.PathLike, split: str) -> None:
    """Refuse a split that is being built, was interrupted, or was never built."""
    if journal_path(out_dir, split).exists():
        raise UnfinishedLayoutError(
            f"{Path(out_dir) / SHARDS_DIR} split {split!r} is unfinished (a run is building it or was "
            "interrupted); rerun step 3 with --layout webdataset to finish it")
    if not shard_paths(out_dir, split):
        raise UsageError(f"no webdataset split {split!r} in {Path(out_dir) / SHARDS_DIR}")


@dataclass(kw_only=True)
class _Build(Build):
    """A split being built, each row's array offset in its shard, the shards not yet in place."""

    offsets: list[int] = field(default_factory=list)
    open_shards: set[int] = field(default_factory=set)


class WebDatasetStore(InPlaceStore):
    """``SpectrogramStore`` of the WebDataset layout (see the module's docstring)."""

    layout = "webdataset"
    folder_name = SHARDS_DIR

    def __init__(self, out_dir: str | os.PathLike, *, spec: ArraySpec, catalog: SampleCatalog,
                 shard_size: int = DEFAULT_SHARD_SIZE):
        if shard_size < 1:
            raise UsageError(f"--shard-size must be at least 1, got {shard_size}")
        super().__init__(out_dir, spec=spec, catalog=catalog)
        self.shard_size = shard_size

    def prepare(self, jobs: Sequence[Job], *, overwrite: bool) -> None:
        """Open or resume each split's build; a split whose shards are all as planned is left alone."""
        for split, samples in self._begin(jobs, overwrite=overwrite).items():
            finished, exact = self._scan(split, samples)
            count = self._count(samples)
            if (not journal_path(self.out_dir, split).exists() and len(exact) == count
                    and not self._stale(split, count)
                    and read_rows(rows_path(self.folder, split)) == [s.key for s in samples]):
                self._current[split] = samples
            else:
                self._builds[split] = self._open_build(split, samples, finished, exact)

    def writer(self) -> SlotWriter:
        return SlotWriter({split: SlotTarget(keys=str(_table(self.out_dir, split, "keys")),
                                             path=str(self.folder / f".{split}-"), spec=self.spec,
                                             offsets=str(_table(self.out_dir, split, "offsets")),
                                             rows_per_file=self.shard_size, suffix=_PARTIAL)
                           for split in self._builds})

    def _recorded(self, split: str, build: Build, row: int) -> None:
        """A shard whose rows are all written goes into place at once."""
        self._close_if_full(split, build, row // self.shard_size)

    def finalize(self) -> None:
        """Rewrite the shards that lack failed rows, drop stale ones; the journal goes last."""
        for split, build in sorted(self._builds.items()):
            build.close()
            for shard in sorted(build.open_shards):
                self._compact(split, build, shard)
            for path in self._stale(split, self._count(build.samples)):
                path.unlink()
            write_rows(rows_path(self.folder, split), [build.samples[r].key for r in sorted(build.done)])
            for name in ("keys", "offsets"):
                _table(self.out_dir, split, name).unlink(missing_ok=True)
            journal_path(self.out_dir, split).unlink()
            self._current[split] = [build.samples[r] for r in sorted(build.done)]
        self._builds = {}
        self._finish_manifest()

    def read(self, key: str) -> np.ndarray:
        """The array of ``key``, from its shard; ``KeyError`` if the split has no such sample."""
        split = key.split("/", 1)[0]
        check_finished(self.out_dir, split)
        for path in shard_paths(self.out_dir, split):
            for row, member in read_members(path).items():
                meta = json.loads(member["json"])
                if job_key(split, meta["class"], meta["source"]) == key:
                    with tarfile.open(path) as tar:
                        data = tar.extractfile(f"{sample_name(row)}.npy").read()
                    return np.load(io.BytesIO(data), allow_pickle=False)
        raise KeyError(key)

    # --- helpers ----------------------------------------------------------------------

    def _count(self, samples: list[PlannedSample]) -> int:
        return -(-len(samples) // self.shard_size)

    def _rows(self, samples: list[PlannedSample], shard: int) -> list[tuple[int, PlannedSample]]:
        start = shard * self.shard_size
        return [(r, samples[r]) for r in range(start, min(len(samples), start + self.shard_size))]

    def _stale(self, split: str, count: int) -> list[Path]:
        """Shards and partial shards past the plan's last (left by a run over a larger index)."""
        return [p for partial in (False, True) for p in shard_paths(self.out_dir, split, partial=partial)
                if _shard_number(p) >= count]

    def _scan(self, split: str, samples: list[PlannedSample]) -> tuple[dict[str, tuple], set[int]]:
        """The shards exactly as planned, and where every other finished sample is, by its source.

        A sample's array depends on its source file alone (the settings are the folder's):
        a sample of the plan with that source, in any row, is copied rather than recomputed
        if it was made from the file as it is now. Its entry: (shard, member, its old key).
        """
        finished: dict[str, tuple[Path, tarfile.TarInfo, str]] = {}
        exact: set[int] = set()
        for path in shard_paths(self.out_dir, split):
            shard, members = _shard_number(path), read_members(path)
            planned = dict(self._rows(samples, shard))
            if set(members) == set(planned) and all(
                    m.get("json") == sample_json(planned[r]) and "npy" in m and self._fresh(planned[r].key)
                    for r, m in members.items()):
                exact.add(shard)
                continue
            for member in members.values():
                sample = _sample_of(split, member.get("json"))
                if sample and "npy" in member:
                    finished[sample[0]] = (path, member["npy"], sample[1])
        return finished, exact

    def _open_build(self, split: str, samples: list[PlannedSample], finished: dict[str, tuple],
                    exact: set[int]) -> _Build:
        digest = plan_digest(samples, self.spec, shard_size=self.shard_size)
        journal = journal_path(self.out_dir, split)
        layouts = [shard_layout(self._rows(samples, s), self.spec, headers=False)
                   for s in range(self._count(samples))]
        offsets = [at for _, shard_offsets, _ in layouts for at in shard_offsets]
        done = read_journal(journal, digest, len(samples))
        fresh = done is None
        if fresh:  # the journal first: from here on the split reads as unfinished
            start_journal(journal, digest)
            write_slot_index(_table(self.out_dir, split, "keys"), [s.key for s in samples],
                             _table(self.out_dir, split, "offsets"), offsets)
        else:
            done = self._resumed(split, samples, done)
        build = _Build(samples=samples, done=done or set(), journal=open(journal, "a", encoding="ascii"),
                       offsets=offsets)
        for shard, (_, _, size) in enumerate(layouts):
            rows = {r for r, _ in self._rows(samples, shard)}
            partial = _partial(self.out_dir, split, shard)
            if shard in exact:
                build.done |= rows
                partial.unlink(missing_ok=True)
                continue
            build.open_shards.add(shard)
            if fresh or not partial.is_file() or partial.stat().st_size != size:
                build.done -= rows
                with atomic_path(partial) as tmp:
                    write_shard(tmp, self._rows(samples, shard), self.spec)
        self._copy_finished_rows(split, build, finished)
        for shard in sorted(build.open_shards):  # only once every copy is made: they read old shards
            self._close_if_full(split, build, shard)
        return build

    def _copy_finished_rows(self, split: str, build: _Build, finished: dict[str, tuple]) -> None:
        """Samples that older shards hold are copied into the partial shards, not recomputed."""
        wanted: dict[Path, list[tuple[int, tarfile.TarInfo]]] = {}
        made_from = self.manifest.made_from
        for shard in build.open_shards:
            for row, sample in self._rows(build.samples, shard):
                source = finished.get(sample.source) if row not in build.done else None
                if source and made_from.get(source[2]) == self._made[sample.key]:
                    wanted.setdefault(source[0], []).append((row, source[1]))
        head, size = npy_header(self.spec), self.spec.row_bytes
        for path, rows in sorted(wanted.items()):
            copied = []
            with open(path, "rb") as src:
                for row, member in rows:
                    src.seek(member.offset_data)
                    if src.read(len(head)) == head:
                        fd = os.open(_partial(self.out_dir, split, row // self.shard_size), os.O_WRONLY)
                        try:
                            pwrite_all(fd, src.read(size), build.offsets[row])
                        finally:
                            os.close(fd)
                        copied.append(row)
            self._copied(build, copied)

    def _close_if_full(self, split: str, build: _Build, shard: int) -> None:
        if shard in build.open_shards and all(r in build.done for r, _ in self._rows(build.samples, shard)):
            self._put_in_place(split, build, shard)

    def _put_in_place(self, split: str, build: _Build, shard: int) -> None:
        """A shard whose rows are all written: its partial file becomes the shard."""
        os.replace(_partial(self.out_dir, split, shard), shard_path(self.out_dir, split, shard))
        build.open_shards.discard(shard)

    def _compact(self, split: str, build: _Build, shard: int) -> None:
        """A shard that lacks failed rows: written again from its partial, with the rows there."""
        partial, final = _partial(self.out_dir, split, shard), shard_path(self.out_dir, split, shard)
        rows = [(r, s) for r, s in self._rows(build.samples, shard) if r in build.done]
        if rows:
            with open(partial, "rb") as src, atomic_path(final) as tmp:
                write_shard(tmp, rows, self.spec,
                             lambda r: os.pread(src.fileno(), self.spec.row_bytes, build.offsets[r]))
        else:
            final.unlink(missing_ok=True)
        partial.unlink()

    def _split_files(self, split: str) -> list[Path]:
        found = [p for partial in (False, True) for p in shard_paths(self.out_dir, split, partial=partial)]
        own = (rows_path(self.folder, split), journal_path(self.out_dir, split),
               _table(self.out_dir, split, "keys"), _table(self.out_dir, split, "offsets"))
        return found + [p for p in own if p.is_file()]

    def _held_keys(self, split: str) -> set[str]:
        samples = (_sample_of(split, m.get("json")) for p in shard_paths(self.out_dir, split)
                   for m in read_members(p).values())
        return {sample[1] for sample in samples if sample}


class ShardRows(Rows):
    """A finished split's tar shards, read at the offsets of their members.

    The members are found once, from the tar headers; their count must be the count of
    rows step 3 recorded, and a shard cut inside a member is refused: either is a
    ``DamagedLayoutError`` naming the shard, never a shorter split or a ``tarfile`` error.
    """

    def __init__(self, out_dir: Path, split: str, labels: Mapping[str, int], index_db: object = None):
        check_finished(out_dir, split)
        self.split, self.paths = split, [str(p) for p in shard_paths(out_dir, split)]
        where: list[tuple[int, int, int, int, int]] = []
        for number, path in enumerate(self.paths):
            where += [(number, *at) for at in _member_offsets(path)]
        self.where = np.array(where, dtype=np.int64).reshape(-1, 5)
        self.labels = dict(labels)
        recorded = recorded_count(Path(out_dir) / SHARDS_DIR, split)
        if recorded is not None and recorded != len(self.where):
            raise DamagedLayoutError(
                f"{Path(out_dir) / SHARDS_DIR} split {split!r} holds {len(self.where)} samples, step 3 wrote "
                f"{recorded}: a shard was cut or changed; rerun step 3 with --layout webdataset")


    def __len__(self) -> int:
        return len(self.where)

    def open(self) -> list[int]:
        return [os.open(p, os.O_RDONLY) for p in self.paths]

    def item(self, i: int) -> np.ndarray:
        number, meta_at, meta_size, npy_at, npy_size = (int(v) for v in self.where[i])
        return np.load(io.BytesIO(os.pread(self.opened()[number], npy_size, npy_at)))

    def _meta(self, i: int) -> dict:
        number, meta_at, meta_size = (int(v) for v in self.where[i, :3])
        return json.loads(os.pread(self.opened()[number], meta_size, meta_at))

    def label(self, i: int) -> int:
        meta = self._meta(i)
        if self.labels.get(meta["class"]) != meta["class_index"]:
            raise UsageError(f"{self.paths[int(self.where[i, 0])]}: {meta['class']!r} has class_index "
                             f"{meta['class_index']}, labels.json says {self.labels.get(meta['class'])}")
        return int(meta["class_index"])

    def read(self, key: str) -> np.ndarray | None:
        """``key``'s array (its sample found once by the JSON beside each array)."""
        if getattr(self, "_samples", None) is None:
            self._samples = {}
            for i in range(len(self)):
                meta = self._meta(i)
                self._samples[job_key(self.split, meta["class"], meta["source"])] = i
        i = self._samples.get(key)
        return None if i is None else self.item(i)


def _member_offsets(path: str) -> list[tuple[int, int, int, int]]:
    """Each sample's (json offset, json size, npy offset, npy size) in a shard, in name order."""
    try:
        with tarfile.open(path) as tar:
            members = {m.name: m for m in tar}
        size = os.path.getsize(path)
    except (OSError, tarfile.TarError) as exc:
        raise DamagedLayoutError(f"{path} is not a readable tar shard ({exc}): rerun step 3 with "
                                 "--layout webdataset") from None
    found = []
    for name in sorted(n for n in members if n.endswith(".npy")):
        meta, npy = members.get(name[:-4] + ".json"), members[name]
        if meta is None:
            raise DamagedLayoutError(f"{path}: {name} has no .json beside it")
        if npy.offset_data + npy.size > size:
            raise DamagedLayoutError(f"{path} is cut inside {name}: rerun step 3 with --layout webdataset")
        found.append((meta.offset_data, meta.size, npy.offset_data, npy.size))
    return found


def _holds(out_dir: Path, split: str) -> bool:
    return bool(shard_paths(out_dir, split)) or journal_path(out_dir, split).exists()


def _make_store(facts: StoreFacts) -> WebDatasetStore:
    return WebDatasetStore(facts.out_dir, spec=facts.spec, catalog=facts.catalog(),
                           shard_size=facts.shard_size)


LAYOUT = register(Layout(name="webdataset", help="tar shards shards/<split>-NNNNNN.tar",
                         make_store=_make_store, open_rows=ShardRows, holds=_holds, rank=2))
