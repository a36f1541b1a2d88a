"""Step 2 under faults: bad pools and outputs, interruptions, a full disk, SQL built from values.

The index is rebuilt atomically: after a kill, the name holds the old index or none,
never half of one, and a rerun gives the rows of an uninterrupted run.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fault_helpers import (
    ROOT,
    call_main,
    final_files,
    interrupt,
    run_limited,
    snapshot,
    start_paused,
    temporaries,
    wait_for_pause,
    wait_until_gone,
)
from pool_factory import write_pool

import create_balanced_index as front
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.steps.index import IndexOptions, read_index_info, run_index

SCRIPT = "create_balanced_index.py"
STEP = "step 2"
CONTROL = {"owl": [3, 3, 3, 2], "bat": [2, 2, 2, 1]}


def rows(db: Path) -> list[tuple]:
    """Every row but its id, in file path order, and index_info without its date."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        data = con.execute("SELECT file_path, class_name, is_augmented, original_file, augmentation_type, "
                           "split, group_key FROM audio_samples ORDER BY file_path").fetchall()
        info = dict(con.execute("SELECT key, value FROM index_info WHERE key != 'created_at'"))
        return data + sorted(info.items())
    finally:
        con.close()


def _control(db: Path) -> list[tuple]:
    return [r for r in rows(db) if len(r) == 7 and r[1] in CONTROL]


@pytest.fixture(scope="module")
def control_rows(tmp_path_factory) -> list[tuple]:
    base = tmp_path_factory.mktemp("control")
    run_index(write_pool(base / "pool", CONTROL), base / "index.db")
    return _control(base / "index.db")


# ---------------------------------------------------------------- bad inputs, one table


def _meta(pool: Path) -> dict:
    return json.loads((pool / "pool_metadata.json").read_text())


def _set_meta(pool: Path, meta: dict) -> None:
    (pool / "pool_metadata.json").write_text(json.dumps(meta))


def _missing_pool(pool, tmp):
    return ["--pool-dir", tmp / "nowhere"]


def _empty_pool(pool, tmp):
    (tmp / "empty").mkdir()
    return ["--pool-dir", tmp / "empty"]


def _class_without_files(pool, tmp):
    meta = _meta(pool)  # as step 1 records a class in which no file was usable
    meta["classes"]["heron"] = {"original_count": 0, "total_count": 0, "files": []}
    _set_meta(pool, meta)


def _folder_without_pool_files(pool, tmp):
    (pool / "heron").mkdir()
    (pool / "heron" / "notes.txt").write_text("not a pool file")


def _unlisted_file(pool, tmp):
    (pool / "owl" / "stray_original.wav").write_bytes(b"stray")


def _listed_file_missing(pool, tmp):
    (pool / "owl" / "rec_001_aug001_time_stretch.wav").unlink()


def _truncated_metadata(pool, tmp):
    text = (pool / "pool_metadata.json").read_text()
    (pool / "pool_metadata.json").write_text(text[: len(text) // 2])


def _empty_metadata(pool, tmp):
    (pool / "pool_metadata.json").write_bytes(b"")


def _entry_with_a_path(pool, tmp):
    meta = _meta(pool)
    meta["classes"]["owl"]["files"][0]["filename"] = "../../etc/passwd"
    _set_meta(pool, meta)


def _class_outside_the_pool(pool, tmp):
    meta = _meta(pool)
    meta["classes"]["../outside"] = meta["classes"]["owl"]
    _set_meta(pool, meta)


ODD = ["a b.wav", "é à.flac", "q'\"uote.ogg", "new\nline.wav", "semi;colon'); DROP TABLE x; --.wav"]


def _odd_names(pool, tmp):
    write_pool(tmp / "odd", {**CONTROL, "o'dd \"cls\"": [2] * len(ODD)},
               sources={"owl": [f"rec_{i:03d}.wav" for i in range(4)],
                        "bat": [f"rec_{i:03d}.wav" for i in range(4)], "o'dd \"cls\"": ODD})
    return ["--pool-dir", tmp / "odd"]


def _symlink_loop(pool, tmp):
    os.symlink("loop_original.wav", pool / "owl" / "loop_original.wav")


def _output_inside_the_pool(pool, tmp):
    return ["--output-db", pool / "index.db"]


def _output_is_a_folder(pool, tmp):
    (tmp / "folder.db").mkdir()
    return ["--output-db", tmp / "folder.db"]


def _output_through_a_file(pool, tmp):
    (tmp / "afile").write_text("a file where a folder should be")
    return ["--output-db", tmp / "afile" / "index.db"]


def _index_of_other_options(pool, tmp):
    run_index(pool, tmp / "index.db", IndexOptions(seed=7))


def _index_of_another_pool(pool, tmp):
    run_index(write_pool(tmp / "other", {"owl": [2, 2, 2]}), tmp / "index.db")


def _not_an_index(pool, tmp):
    (tmp / "index.db").write_text("my notes, not a database")


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path, Path], list | None]
    status: int
    says: tuple[str, ...]
    classes: tuple[str, ...] = ()  # classes indexed besides the control's


CASES = [
    Case("missing pool folder", _missing_pool, 2, (r"^error: pool folder not found: .*nowhere$",)),
    Case("empty pool folder", _empty_pool, 2, (r"^error: no class folders in .*empty",)),
    Case("class with no files", _class_without_files, 0,
         (r"class 'heron' has no files in pool_metadata\.json; left out",)),
    Case("class folder with no pool files", _folder_without_pool_files, 2,
         (r"^error: .*pool_metadata\.json does not describe the class folders heron",)),
    Case("file the metadata does not list", _unlisted_file, 2,
         (r"^error: 1 file\(s\) in the pool are not listed in pool_metadata\.json: "
          r"owl/stray_original\.wav",)),
    Case("listed file missing", _listed_file_missing, 2,
         (r"^error: 1 file\(s\) listed in pool_metadata\.json are missing from the pool: "
          r"owl/rec_001_aug001_time_stretch\.wav",)),
    Case("truncated metadata", _truncated_metadata, 2,
         (r"^error: .*pool_metadata\.json is not readable JSON",)),
    Case("zero-length metadata", _empty_metadata, 2,
         (r"^error: .*pool_metadata\.json is not readable JSON",)),
    Case("file entry with a path", _entry_with_a_path, 2,
         (r"^error: .*class 'owl', file entry 0: 'filename' must be a file name, "
          r"got '\.\./\.\./etc/passwd'",)),
    Case("class name out of the pool", _class_outside_the_pool, 2,
         (r"^error: \d+ file\(s\) listed in pool_metadata\.json are missing from the pool: "
          r"\.\./outside/",)),
    Case("spaces, accents, quotes, newline, SQL", _odd_names, 0, (r"leakage check: 0 group",),
         classes=("o'dd \"cls\"",)),
    Case("symlink loop", _symlink_loop, 0,
         (r"1 link\(s\) in the class folders lead nowhere .* owl/loop_original\.wav",)),
    Case("output inside the pool", _output_inside_the_pool, 2,
         (r"^error: --output-db .*index\.db is inside the pool folder",)),
    Case("output is a folder", _output_is_a_folder, 2, (r"^error: --output-db .*folder\.db is a folder",)),
    Case("output through a file (unwritable)", _output_through_a_file, 2,
         (r"^error: cannot write to .*afile/index\.db \(.*afile exists and is not a folder\)",)),
    Case("index made with other options", _index_of_other_options, 2,
         (r"^error: .*index\.db holds an index made with other options "
          r"\(seed \"7\" -> \"42\"\); use --overwrite",)),
    Case("index of another pool", _index_of_another_pool, 2,
         (r"^error: .*index\.db holds an index made with other options "
          r"\(.*pool_dir \"[^\"]*other\" -> \"[^\"]*pool\"",)),
    Case("output that is not an index", _not_an_index, 2,
         (r"^error: .*index\.db already exists and is not a NightScan index; pass --overwrite",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case, tmp_path, capsys, control_rows, fault_ledger):
    pool = write_pool(tmp_path / "pool", CONTROL)
    db = tmp_path / "index.db"
    args = ["--pool-dir", pool, "--output-db", db, *(case.build(pool, tmp_path) or []), "-q"]
    inputs = {p: snapshot(p) for p in tmp_path.iterdir() if p.is_dir()}
    outputs = final_files(tmp_path)
    status, stdout, stderr = call_main(front.main, args, capsys)
    fault_ledger.bad_inputs[STEP] += 1
    assert status == case.status, stderr
    for pattern in case.says:
        assert re.search(pattern, stdout + stderr, re.M), f"{pattern!r} not in:\n{stdout}{stderr}"
    assert "Traceback" not in stderr
    for folder, before in inputs.items():  # pools are never written to
        assert fault_ledger.account(before, snapshot(folder)) == [], folder
    if status == 2:
        assert len(stderr.strip().splitlines()) == 1
        assert final_files(tmp_path) == outputs, "a refused run changed a file"
        return
    written = Path(args[args.index("--output-db") + 1])
    assert temporaries(written.parent) == []
    got = _control(written)
    assert fault_ledger.account({repr(r): "row" for r in control_rows}, {repr(r): "row" for r in got}) == []
    assert {r[1] for r in rows(written) if len(r) == 7} == {*CONTROL, *case.classes}


# ---------------------------------------------------------------- interruptions


@pytest.fixture(scope="module")
def interrupt_reference(tmp_path_factory) -> tuple[Path, Path]:
    """A pool of three classes whose originals must be hashed, and its index."""
    base = tmp_path_factory.mktemp("interrupt")
    pool = write_pool(base / "pool", {**CONTROL, "rain": [1] * 12}, record_sha=False)
    run_index(pool, base / "ref.db")
    return pool, base / "ref.db"


POINTS = {
    "reading the pool": ("nightscan_common.formats.pool_reader:file_sha256", 2),
    "writing the database": ("nightscan_common.steps.index:class_rows", 2),
    "after the rename": ("nightscan_common.steps.index:split_counts", 1),
}


@pytest.mark.parametrize(("sig", "point"), [(signal.SIGKILL, p) for p in POINTS] +
                         [(signal.SIGINT, "writing the database")],
                         ids=[f"SIGKILL-{p}" for p in POINTS] + ["SIGINT"])
def test_an_interrupted_run_is_finished_by_a_rerun(sig, point, interrupt_reference, tmp_path, capsys,
                                                   fault_ledger):
    pool, ref = interrupt_reference
    db = ref.parent / f"index-{tmp_path.name}.db"  # beside the reference: the same relative pool
    overwriting = point == "writing the database"
    if overwriting:  # an older index, to be replaced atomically
        run_index(pool, db, IndexOptions(seed=7))
    args = ["--pool-dir", pool, "--output-db", db, "-q", *(["--overwrite"] if overwriting else [])]
    before_in = snapshot(pool)
    proc, marker = start_paused(tmp_path, SCRIPT, args, pause=POINTS[point][0], nth=POINTS[point][1])
    wait_for_pause(proc, marker)
    if sig == signal.SIGKILL and overwriting:
        status, _, err = call_main(front.main, args, capsys)  # a second run, at the same time
        assert status == 2 and f"error: another run is writing to {db}" in err
    interrupt(proc, sig)
    if sig == signal.SIGINT:
        assert temporaries(db.parent) == []  # the half-built database went with the run
    assert wait_until_gone(proc.pid) == []
    if overwriting:  # the old index, whole, under the final name
        assert read_index_info(db)["seed"] == "7"
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        con.close()
    elif point == "after the rename":
        assert rows(db) == rows(ref)
    else:
        assert not db.exists()

    status, _, err = call_main(front.main, args, capsys)
    assert status == 0, err
    fault_ledger.interruptions[STEP] += 1
    expected = {repr(r): "row" for r in rows(ref)}
    assert fault_ledger.account(expected, {repr(r): "row" for r in rows(db)}) == []
    assert len(rows(db)) == len(expected)
    assert temporaries(db.parent) == [], "a killed run's temporary was left beside the index"
    assert fault_ledger.account(before_in, snapshot(pool)) == []


# ---------------------------------------------------------------- a full disk


def test_a_full_disk_leaves_no_index_and_a_rerun_completes(tmp_path, capsys, fault_ledger):
    """RLIMIT_FSIZE caps every file at 8 KB: SQLite cannot grow the database."""
    pool = write_pool(tmp_path / "pool", CONTROL)
    run_index(pool, tmp_path / "ref.db")
    db = tmp_path / "index.db"
    args = ["--pool-dir", pool, "--output-db", db, "-q"]
    res = run_limited(SCRIPT, args, file_size=8192)
    fault_ledger.disk_faults[STEP] += 1
    assert res.returncode == 3, res.stderr
    assert re.fullmatch(rf"error: cannot write the index {re.escape(str(db))} \(.+\); free space or fix "
                        r"permissions and rerun\n", res.stderr), res.stderr
    assert not db.exists() and temporaries(tmp_path) == []
    status, _, err = call_main(front.main, args, capsys)
    assert status == 0, err
    assert fault_ledger.account({repr(r): "row" for r in rows(tmp_path / "ref.db")},
                                {repr(r): "row" for r in rows(db)}) == []


def test_a_full_then_read_only_tmpfs(small_tmpfs, tmp_path, capsys, fault_ledger):
    """On a real small disk: full (ENOSPC), then space freed; then read-only."""
    disk, remount = small_tmpfs
    pool = write_pool(tmp_path / "pool", {**CONTROL, "rain": [1] * 200})
    run_index(pool, tmp_path / "ref.db")
    db = disk / "index.db"
    filler = disk / "filler"
    filler.write_bytes(b"\0" * (os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize - 8192))
    args = ["--pool-dir", pool, "--output-db", db, "-q"]
    status, _, err = call_main(front.main, args, capsys)
    fault_ledger.disk_faults[STEP] += 1
    assert status == 3 and re.fullmatch(r"error: cannot write the index .*index\.db \(database or disk is "
                                        r"full\); free space or fix permissions and rerun\n", err), err
    assert not db.exists() and temporaries(disk) == []
    filler.unlink()
    assert call_main(front.main, args, capsys)[0] == 0
    assert [r for r in rows(db) if r[0] != "pool_dir"] == [r for r in rows(tmp_path / "ref.db")
                                                           if r[0] != "pool_dir"]
    remount("ro")
    status, _, err = call_main(front.main, [*args[:3], disk / "other.db", "-q"], capsys)
    fault_ledger.disk_faults[STEP] += 1
    assert status == 2 and re.fullmatch(r"error: cannot write to .*other\.db \(Read-only file system.*\n",
                                        err), err


# ---------------------------------------------------------------- SQL is built from constants only


#: What an f-string of SQL may interpolate: table names and placeholders, never a value.
SQL_PARTS = {"TABLE", "marks", "', '.join(COLUMNS)", "', '.join('?' * len(COLUMNS))"}
SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|WHERE|VALUES|PRAGMA)\b")


def test_sql_is_parameterised_everywhere():
    """Every SQL text built with an f-string, % or .format interpolates constants only."""
    offenders = []
    sources = sorted((ROOT / "nightscan_common").glob("*.py")) + sorted(ROOT.glob("*.py"))
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if SQL_WORDS.search(text):
                    offenders += [f"{path.name}:{node.lineno}: {ast.unparse(v.value)}"
                                  for v in node.values if isinstance(v, ast.FormattedValue)
                                  and ast.unparse(v.value) not in SQL_PARTS]
            elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and \
                    isinstance(node.left, ast.Constant) and SQL_WORDS.search(str(node.left.value)):
                offenders.append(f"{path.name}:{node.lineno}: % formatting of SQL")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr == "format" and isinstance(node.func.value, ast.Constant) and \
                    SQL_WORDS.search(str(node.func.value.value)):
                offenders.append(f"{path.name}:{node.lineno}: .format() of SQL")
    assert offenders == []


def test_keep_splits_from_finds_renamed_and_relabelled_recordings_by_content(tmp_path, capsys):
    """A val or test recording renamed (same bytes, or re-encoded: same fingerprint) or moved to
    another class keeps its split; the relabel is reported; no group is counted as moved."""
    import hashlib

    from pool_factory import fake_fingerprint

    old_db, new_db = tmp_path / "old.db", tmp_path / "new.db"
    moth = [f"m_{i:03d}.wav" for i in range(10)]
    old_pool = write_pool(tmp_path / "p1", {"owl": [3] * 30, "moth": [3] * 10}, sources={
        "owl": [f"rec_{i:03d}.wav" for i in range(30)], "moth": moth})
    run_index(old_pool, old_db, run=RunOptions(progress=False))
    old = dict(sqlite3.connect(old_db).execute("SELECT file_path, split FROM audio_samples"))
    held_out = [i for i in range(30) if old[f"owl/rec_{i:03d}_original.wav"] != "train"]
    relabelled, reencoded, renamed = held_out[0], held_out[1], held_out[2:]
    sources = [f"rec_{i:03d}.wav" for i in range(30) if i not in held_out]
    sources += [f"renamed_{i:03d}.wav" for i in [reencoded, *renamed]]
    sources += [f"new_{i:03d}.wav" for i in range(20)]
    contents = {("owl", f"renamed_{i:03d}.wav"): f"owl/rec_{i:03d}.wav".encode() for i in renamed}
    contents[("owl", f"renamed_{reencoded:03d}.wav")] = b"the same audio, encoded again"
    contents[("moth", f"rec_{relabelled:03d}.wav")] = f"owl/rec_{relabelled:03d}.wav".encode()
    moth += [f"rec_{relabelled:03d}.wav"]
    pool = write_pool(tmp_path / "p2", {"owl": [3] * (len(sources) - 20) + [5] * 20, "moth": [3] * 11},
                      sources={"owl": sources, "moth": moth}, contents=contents)
    meta = json.loads((pool / "pool_metadata.json").read_text())
    for f in meta["classes"]["owl"]["files"]:  # re-encoded: other bytes, the old recording's fingerprint
        if f["filename"] == f"renamed_{reencoded:03d}_original.wav":
            assert f["sha256"] != hashlib.sha256(f"owl/rec_{reencoded:03d}.wav".encode()).hexdigest()
            f["fingerprint"] = fake_fingerprint(f"owl/rec_{reencoded:03d}.wav".encode())
    (pool / "pool_metadata.json").write_text(json.dumps(meta))
    status = front.main(["--pool-dir", str(pool), "--output-db", str(new_db),
                         "--keep-splits-from", str(old_db)])
    out, err = capsys.readouterr()
    assert new_db.exists(), err
    new = dict(sqlite3.connect(new_db).execute("SELECT file_path, split FROM audio_samples"))
    for i in [reencoded, *renamed]:
        assert new[f"owl/renamed_{i:03d}_original.wav"] == old[f"owl/rec_{i:03d}_original.wav"], i
    assert new[f"moth/rec_{relabelled:03d}_original.wav"] == old[f"owl/rec_{relabelled:03d}_original.wav"]
    split = old[f"owl/rec_{relabelled:03d}_original.wav"]
    moved = f"owl/rec_{relabelled:03d}_original.wav -> moth/rec_{relabelled:03d}_original.wav ({split})"
    assert f"relabelled (found by content in another class), split kept: {moved}" in out
    assert out.count("found by content under a new name, split kept: owl/rec_") == len(renamed) + 1
    assert re.search(r"groups \d+ added, 0 removed, \d+ kept, 0 moved", out)
    assert status == 0
