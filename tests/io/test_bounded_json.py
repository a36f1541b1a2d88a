"""bounded_json: strict, bounded reads; caches that may be absent; JSON-lines files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nightscan_common.errors import UsageError
from nightscan_common.io.bounded_json import (
    UnsafeJsonFile,
    check_json_file,
    load_json_file,
    load_json_if_valid,
    read_lines,
)


def _hostile(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "x.json"
    if kind == "device":
        path.symlink_to("/dev/zero")
    elif kind == "pipe":
        os.mkfifo(path)
    else:
        path.mkdir()
    return path


@pytest.mark.parametrize("kind", ["device", "pipe", "folder"])
@pytest.mark.parametrize("reader", [load_json_file, load_json_if_valid, read_lines, check_json_file])
def test_what_is_not_a_regular_file_is_refused_unopened(tmp_path, kind, reader):
    with pytest.raises(UnsafeJsonFile, match=rf"x.json is not a regular file \(a {kind}\); fix it"):
        reader(_hostile(tmp_path, kind), remedy="fix it")


@pytest.mark.parametrize("reader", [load_json_file, load_json_if_valid, read_lines])
def test_a_file_above_the_bound_is_refused(tmp_path, reader):
    (tmp_path / "x.json").write_text("[" + "1," * 60 + "1]")
    with pytest.raises(UnsafeJsonFile, match="holds 123 bytes, more than the 100 read"):
        reader(tmp_path / "x.json", remedy="", max_bytes=100)


def test_a_cache_absent_or_malformed_is_none_and_a_strict_file_is_read(tmp_path):
    path = tmp_path / "x.json"
    assert load_json_if_valid(path, remedy="") is None and not check_json_file(path, remedy="")
    path.write_text('{"a": NaN}')
    assert load_json_if_valid(path, remedy="") is None
    with pytest.raises(UsageError, match="NaN, which is not JSON"):
        load_json_file(path, remedy="")
    path.write_text('{"a": [1, 2]}')
    assert load_json_if_valid(path, remedy="") == {"a": [1, 2]} and check_json_file(path, remedy="")


def test_lines_keep_their_newline_and_a_torn_last_line_stays_without_one(tmp_path):
    path = tmp_path / "x.jsonl"
    assert read_lines(path, remedy="") is None
    path.write_bytes('["a\u2028b", 1]\n[2]\n[3'.encode())
    assert read_lines(path, remedy="") == ['["a\u2028b", 1]\n', "[2]\n", "[3"]
    path.write_bytes(b"")
    assert read_lines(path, remedy="") == []
