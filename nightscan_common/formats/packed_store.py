"""The packed layout: per split, one array of every row and one CSV saying what each row is.

    <out>/packed/<split>.npy   shape (N, [3,] n_mels, frames), the chosen dtype; read it
                               with np.load(path, mmap_mode="r")
    <out>/packed/<split>.csv   row,file_path,class_name,class_index,group_key,is_augmented

Rows are in key order (``catalog``). The build is resumable: ``prepare`` writes the
split's journal (``.<split>.journal``, first line the plan's digest), its sorted keys
(``.<split>.keys.npy``) and a preallocated array (``.<split>.partial.npy``: the npy
header, then the file sized to N rows). Each worker writes its row into its fixed slot
(``slots.SlotWriter``) and the parent journals the slot. ``finalize`` writes the CSV, renames
the array into place and deletes the journal last: a split whose journal exists is
unfinished, and readers refuse it.

Rows whose spectrogram failed are left out: the finished array and CSV hold the rows
that succeeded, in key order (``finalize`` compacts them). A rerun retries the failed
rows and copies the others from the finished array into a new one instead of
recomputing them; so does a rerun over a changed index. A row is copied only when the
split's record of its rows (``packed/.<split>.rows.npy``, written by step 3, not the
CSV a hand may edit) names the key the CSV gives it, and the folder's source manifest
(``packed/.spectrogram_sources.jsonl``) says it was made from the pool file as it is
now; any other row is recomputed. A split without that record (written by an earlier
version) is rebuilt once.

``PackedRows`` reads a finished split: a copy-on-write memory map, its labels from the
CSV, each checked against ``labels.json`` and the record of rows.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DamagedLayoutError, UnfinishedLayoutError, UsageError
from ..io.atomic_write import atomic_path, write_bytes
from ..vocabulary import Job, job_key
from .catalog import PlannedSample, plan_digest
from .in_place import Build, InPlaceStore, read_rows, rows_path, write_rows
from .layout_registry import Layout, Rows, StoreFacts, register
from .slots import (
    SlotTarget,
    SlotWriter,
    data_offset,
    preallocate,
    pwrite_all,
    read_journal,
    start_journal,
    write_slot_index,
)

PACKED_DIR = "packed"
CSV_COLUMNS = ("row", "file_path", "class_name", "class_index", "group_key", "is_augmented")
_COPY_ROWS = 64


def array_path(out_dir: str | os.PathLike, split: str) -> Path:
    return Path(out_dir) / PACKED_DIR / f"{split}.npy"


def csv_path(out_dir: str | os.PathLike, split: str) -> Path:
    return Path(out_dir) / PACKED_DIR / f"{split}.csv"


def _journal(out_dir: Path, split: str) -> Path:
    return out_dir / PACKED_DIR / f".{split}.journal"


def _partial(out_dir: Path, split: str) -> Path:
    return out_dir / PACKED_DIR / f".{split}.partial.npy"


def _keys(out_dir: Path, split: str) -> Path:
    return out_dir / PACKED_DIR / f".{split}.keys.npy"


def csv_bytes(samples: Sequence[PlannedSample]) -> bytes:
    """The CSV of ``samples``, numbered from 0 in the given order."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row, s in enumerate(samples):
        writer.writerow([row, s.source, s.class_name, s.class_index, s.group_key, int(s.is_augmented)])
    return buffer.getvalue().encode("utf-8")


def read_table(out_dir: str | os.PathLike, split: str) -> Iterator[dict[str, str]]:
    """The rows of a finished split's CSV, one at a time; ``UnfinishedLayoutError`` /
    ``UsageError`` (at once) for a split that is not finished."""
    check_finished(out_dir, split)
    return _read_csv(csv_path(out_dir, split))


def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)


def check_finished(out_dir: str | os.PathLike, split: str) -> None:
    """Refuse a split that is being built, was interrupted, or was never built."""
    out_dir = Path(out_dir)
    if _journal(out_dir, split).exists():
        raise UnfinishedLayoutError(
            f"{out_dir / PACKED_DIR} split {split!r} is unfinished (a run is building it or was "
            "interrupted); rerun step 3 with --layout packed to finish it")
    for path in (array_path(out_dir, split), csv_path(out_dir, split)):
        if not path.is_file():
            raise UsageError(f"no packed split {split!r} in {out_dir}: {path} not found")


@dataclass(kw_only=True)
class _Build(Build):
    """A split being built, and where its array's rows start."""

    offset: int = 0


class PackedStore(InPlaceStore):
    """``SpectrogramStore`` of the packed layout (see the module's docstring)."""

    layout = "packed"
    folder_name = PACKED_DIR

    def prepare(self, jobs: Sequence[Job], *, overwrite: bool) -> None:
        """Open or resume each split's build; a split already finished as planned is left as it is."""
        for split, samples in self._begin(jobs, overwrite=overwrite).items():
            if not _journal(self.out_dir, split).exists() and self._is_current(split, samples):
                self._current[split] = samples
            else:
                self._builds[split] = self._open_build(split, samples)

    def writer(self) -> SlotWriter:
        return SlotWriter({split: SlotTarget(keys=str(_keys(self.out_dir, split)),
                                             path=str(_partial(self.out_dir, split)), spec=self.spec,
                                             base=b.offset)
                           for split, b in self._builds.items()})

    def finalize(self) -> None:
        """Per split: the array renamed (or compacted) into place, its CSV, the journal last.

        The old CSV goes first, so that while the journal exists a CSV beside the array
        always describes it (an interrupted build copies rows from that pair).
        """
        for split, build in sorted(self._builds.items()):
            build.close()
            slots = sorted(build.done)
            csv_path(self.out_dir, split).unlink(missing_ok=True)
            rows_path(self.folder, split).unlink(missing_ok=True)
            partial = _partial(self.out_dir, split)
            if len(slots) == len(build.samples):
                os.replace(partial, array_path(self.out_dir, split))
            else:
                self._compact(partial, build.offset, slots, array_path(self.out_dir, split))
                partial.unlink()
            write_rows(rows_path(self.folder, split), [build.samples[i].key for i in slots])
            write_bytes(csv_path(self.out_dir, split), csv_bytes([build.samples[i] for i in slots]))
            _keys(self.out_dir, split).unlink(missing_ok=True)
            _journal(self.out_dir, split).unlink()
            self._current[split] = [build.samples[i] for i in slots]
        self._builds = {}
        self._finish_manifest()

    def read(self, key: str) -> np.ndarray:
        """The finished row of ``key`` (a copy); ``KeyError`` if the split has no such row."""
        split = key.split("/", 1)[0]
        rows = [job_key(split, r["class_name"], r["file_path"]) for r in read_table(self.out_dir, split)]
        try:
            row = rows.index(key)
        except ValueError:
            raise KeyError(key) from None
        return np.array(np.load(array_path(self.out_dir, split), mmap_mode="r")[row])

    # --- helpers ----------------------------------------------------------------------

    def _split_files(self, split: str) -> list[Path]:
        return [path for path in (array_path(self.out_dir, split), csv_path(self.out_dir, split),
                                  rows_path(self.folder, split), _journal(self.out_dir, split),
                                  _partial(self.out_dir, split), _keys(self.out_dir, split))
                if path.is_file() and not path.is_symlink()]

    def _held_keys(self, split: str) -> set[str]:
        try:
            return {job_key(split, row["class_name"], row["file_path"])
                    for row in _read_csv(csv_path(self.out_dir, split))}
        except (OSError, ValueError, KeyError):
            return set()

    def _is_current(self, split: str, samples: list[PlannedSample]) -> bool:
        try:
            same_rows = csv_path(self.out_dir, split).read_bytes() == csv_bytes(samples)
        except FileNotFoundError:
            return False
        final = array_path(self.out_dir, split)
        return (same_rows and read_rows(rows_path(self.folder, split)) == [s.key for s in samples]
                and data_offset(final, len(samples), self.spec) is not None
                and all(self._fresh(s.key) for s in samples))

    def _open_build(self, split: str, samples: list[PlannedSample]) -> _Build:
        digest = plan_digest(samples, self.spec)
        journal, partial = _journal(self.out_dir, split), _partial(self.out_dir, split)
        done = read_journal(journal, digest, len(samples))
        if data_offset(partial, len(samples), self.spec) is None:
            done = None
        if done is not None:
            done = self._resumed(split, samples, done)
        else:  # the journal first: from here on the split reads as unfinished
            start_journal(journal, digest)
            write_slot_index(_keys(self.out_dir, split), [s.key for s in samples])
            with atomic_path(partial) as tmp:
                preallocate(tmp, len(samples), self.spec)
            done = set()
        offset = data_offset(partial, len(samples), self.spec)
        assert offset is not None
        build = _Build(samples=samples, done=done, journal=open(journal, "a", encoding="ascii"),
                       offset=offset)
        self._copy_finished_rows(split, build)
        return build

    def _copy_finished_rows(self, split: str, build: _Build) -> None:
        """Rows the finished array already holds (same file, same source, same settings) are
        copied, not recomputed: only those whose CSV line names the key step 3 recorded for
        that row (two lines swapped by hand, or a CSV of another build, copy nothing)."""
        final = array_path(self.out_dir, split)
        recorded = read_rows(rows_path(self.folder, split))
        try:
            table = list(_read_csv(csv_path(self.out_dir, split)))
            old_rows = {r["file_path"]: (row, key) for row, r in enumerate(table)
                        if recorded is not None and row < len(recorded)
                        and (key := job_key(split, r["class_name"], r["file_path"])) == recorded[row]}
        except (OSError, ValueError, KeyError, TypeError):
            return
        old_offset = data_offset(final, len(table), self.spec)
        if old_offset is None or recorded is None or len(recorded) != len(table):
            return
        made_from = self.manifest.made_from
        wanted = [(slot, old_rows[s.source][0]) for slot, s in enumerate(build.samples)
                  if slot not in build.done and s.source in old_rows
                  and made_from.get(old_rows[s.source][1]) == self._made[s.key]]
        if not wanted:
            return
        size = self.spec.row_bytes
        fd = os.open(_partial(self.out_dir, split), os.O_WRONLY)
        try:
            with open(final, "rb") as src:
                for slot, old in wanted:
                    src.seek(old_offset + old * size)
                    pwrite_all(fd, src.read(size), build.offset + slot * size)
        finally:
            os.close(fd)
        self._copied(build, [slot for slot, _ in wanted])

    def _compact(self, partial: Path, offset: int, slots: list[int], target: Path) -> None:
        """Write the rows of ``slots``, in order, as a new array at ``target`` (atomically)."""
        size = self.spec.row_bytes
        with atomic_path(target) as tmp, open(partial, "rb") as src:
            new_offset = preallocate(tmp, len(slots), self.spec)
            fd = os.open(tmp, os.O_WRONLY)
            try:
                for start in range(0, len(slots), _COPY_ROWS):
                    chunk = b"".join(os.pread(src.fileno(), size, offset + slot * size)
                                     for slot in slots[start:start + _COPY_ROWS])
                    pwrite_all(fd, chunk, new_offset + start * size)
            finally:
                os.close(fd)


class PackedRows(Rows):
    """A finished split: one memory-mapped array, the labels from its CSV.

    Items are views of a copy-on-write mapping: nothing is copied until the loader
    stacks them into a batch, and a transform that writes to one changes it in memory
    only, never the file. Each CSV line is checked against ``labels.json`` and against
    the keys step 3 recorded for the rows.
    """

    def __init__(self, out_dir: Path, split: str, labels: Mapping[str, int], index_db: object = None):
        table = read_table(out_dir, split)
        self.out_dir, self.split, self.path = Path(out_dir), split, array_path(out_dir, split)
        recorded = read_rows(rows_path(self.out_dir / PACKED_DIR, split))
        self.class_index = _checked_rows(split, table, labels, recorded, csv_path(out_dir, split))
        rows = self.opened().shape[0]
        if rows != len(self.class_index):
            raise DamagedLayoutError(f"{self.path} holds {rows} rows but its CSV {len(self.class_index)}: "
                                     "rebuild the split")

    def open(self) -> np.ndarray:
        return np.load(self.path, mmap_mode="c").view(np.ndarray)

    def item(self, i: int) -> np.ndarray:
        return self.opened()[i]

    def read(self, key: str) -> np.ndarray | None:
        """A copy of ``key``'s row (its position from the CSV, checked when the rows were opened)."""
        if getattr(self, "_rows", None) is None:
            self._rows = {job_key(self.split, r["class_name"], r["file_path"]): i
                          for i, r in enumerate(read_table(self.out_dir, self.split))}
        row = self._rows.get(key)
        return None if row is None else np.array(self.item(row))


def _checked_rows(split: str, table: Iterable[dict[str, str]], labels: Mapping[str, int],
                  recorded: list[str] | None, source: Path) -> np.ndarray:
    """The table's class indexes, each row checked against labels.json and the record of
    rows (one pass, for a million rows)."""
    indexes = []
    for n, row in enumerate(table):
        index, class_name = int(row["class_index"]), row["class_name"]
        if labels.get(row["class_name"]) != index:
            raise UsageError(f"{source} gives {row['class_name']!r} the class index {index}, labels.json "
                             f"{labels.get(row['class_name'])}: rebuild the split")
        if recorded is not None and (
                n >= len(recorded) or not _names_key(recorded[n], split, class_name, row["file_path"])):
            raise DamagedLayoutError(f"{source} line {n + 2} ({row['file_path']}) is not the row "
                                     "step 3 wrote there: rerun step 3 with --layout packed to rebuild "
                                     "the split")
        indexes.append(index)
    if recorded is not None and len(recorded) != len(indexes):
        raise DamagedLayoutError(f"{source} lists {len(indexes)} rows, step 3 wrote {len(recorded)}: "
                                 "rerun step 3 with --layout packed to rebuild the split")
    return np.array(indexes, dtype=np.int32)


def _names_key(key: str, split: str, class_name: str, file_path: str) -> bool:
    """Whether a CSV line can be the row of ``key``: its class, and a file name that is the
    key's stem with at most one extension (string tests: ``job_key`` costs 7 us a row)."""
    prefix = f"{split}/{class_name}/"
    stem = key[len(prefix):]
    if not key.startswith(prefix) or not file_path.startswith(f"{class_name}/{stem}"):
        return False
    rest = file_path[len(class_name) + 1 + len(stem):]
    return rest == "" or (len(rest) > 1 and rest[0] == "." and "." not in rest[1:] and "/" not in rest)


def _holds(out_dir: Path, split: str) -> bool:
    return array_path(out_dir, split).exists() or _journal(out_dir, split).exists()


def _make_store(facts: StoreFacts) -> PackedStore:
    return PackedStore(facts.out_dir, spec=facts.spec, catalog=facts.catalog())


LAYOUT = register(Layout(name="packed", help="packed/<split>.npy (one array) + .csv",
                         make_store=_make_store, open_rows=PackedRows, holds=_holds, rank=1))
