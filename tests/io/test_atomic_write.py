"""Atomic writes: no partial file under a final name, temporaries swept, normal modes."""

import errno
import json
import os
import stat

import pytest

from nightscan_common.io.atomic_write import (
    atomic_path,
    is_temporary,
    remove_temporaries,
    remove_temporaries_of,
    write_json,
)


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]


def test_json_is_sorted_utf8_and_has_a_plain_file_mode(tmp_path):
    target = tmp_path / "deep" / "meta.json"
    write_json(target, {"b": 1, "a": "é"})
    assert json.loads(target.read_text(encoding="utf-8")) == {"a": "é", "b": 1}
    assert target.read_text(encoding="utf-8").index('"a"') < target.read_text().index('"b"')
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_temporaries_are_recognised_and_swept(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".x.npy.abc.nightscan-tmp").write_bytes(b"")
    (tmp_path / "keep.nightscan-tmp").write_bytes(b"")  # not hidden: not ours
    assert is_temporary(".x.npy.abc.nightscan-tmp") and not is_temporary("keep.nightscan-tmp")
    assert remove_temporaries(tmp_path) == 1
    assert (tmp_path / "keep.nightscan-tmp").exists()


def test_a_write_error_names_the_target_not_the_temporary(tmp_path):
    target = tmp_path / "x.npy"
    with pytest.raises(OSError) as info, atomic_path(target) as tmp:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert info.value.errno == errno.ENOSPC and info.value.filename == str(target)
    assert os.listdir(tmp_path) == []


def test_the_temporaries_of_one_target_are_swept_and_no_others(tmp_path):
    for name in (".index.db.abc.nightscan-tmp", ".index.db.x.nightscan-tmp", ".other.db.abc.nightscan-tmp"):
        (tmp_path / name).write_bytes(b"")
    assert remove_temporaries_of(tmp_path / "index.db") == 2
    assert os.listdir(tmp_path) == [".other.db.abc.nightscan-tmp"]
