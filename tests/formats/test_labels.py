"""labels.json: one numbering from the whole index, strict JSON, rewritten only when the classes change."""

from __future__ import annotations

import json

import pytest
from spectrogram_helpers import small_pool, write_index

import pregenerate_spectrograms_simple as front
from nightscan_common.errors import UsageError
from nightscan_common.formats.index_db import read_class_names
from nightscan_common.formats.labels import (
    LABELS_FILENAME,
    label_map,
    labels_bytes,
    labels_to_write,
    read_labels,
    write_labels,
)
from nightscan_common.formats.layouts import LAYOUTS


def test_the_map_numbers_classes_in_name_order_once_each():
    assert label_map(["owl", "bat", "owl", "Zorro", "été"]) == {"Zorro": 0, "bat": 1, "owl": 2, "été": 3}


def test_the_file_is_strict_sorted_utf8_json(tmp_path):
    write_labels(tmp_path, {"bat": 0, "été": 1})
    data = (tmp_path / LABELS_FILENAME).read_bytes()
    assert data == labels_bytes({"bat": 0, "été": 1})
    assert data.decode("utf-8") == ('{\n  "class_to_index": {\n    "bat": 0,\n    "été": 1\n  },\n'
                                    '  "format_version": 1\n}\n')
    assert read_labels(tmp_path) == {"bat": 0, "été": 1}


def test_written_once_and_rewritten_when_the_classes_change(tmp_path):
    assert labels_to_write(tmp_path, {"bat": 0}, overwrite=False)
    write_labels(tmp_path, {"bat": 0, "owl": 1})
    assert not labels_to_write(tmp_path, {"bat": 0, "owl": 1}, overwrite=False)
    assert labels_to_write(tmp_path, {"owl": 0, "rain": 1}, overwrite=False)
    assert labels_to_write(tmp_path, {"bat": 0, "owl": 1}, overwrite=True)


@pytest.mark.parametrize("text, message", [
    (None, "labels.json not found: step 3 writes it"),
    ("{", "is not readable JSON"),
    ('{"class_to_index": {"owl": 0, "bat": 1}}', "numbering the classes in name order"),
    ('[1, 2]', "holds no class_to_index map"),
])
def test_a_missing_or_malformed_file_is_one_clear_error(tmp_path, text, message):
    if text is not None:
        (tmp_path / LABELS_FILENAME).write_text(text)
    with pytest.raises(UsageError, match=message):
        read_labels(tmp_path)


def test_step_3_numbers_every_split_from_the_whole_index(tmp_path, capsys):
    pool, db, rows = small_pool(tmp_path)  # val holds owls only, test no owl
    assert read_class_names(db) == ["bat", "owl", "rain"]
    for layout in LAYOUTS:
        out = tmp_path / layout
        assert front.main(["--index-db", str(db), "--pool-root", str(pool), "--output-dir", str(out),
                           "--split", "val", "--num-workers", "1", "-q", "--layout", layout]) == 0
        assert read_labels(out) == {"bat": 0, "owl": 1, "rain": 2}
    assert len({(tmp_path / layout / LABELS_FILENAME).read_bytes() for layout in ("tree", "packed")}) == 1


def test_step_3_reruns_over_an_index_with_other_classes(tmp_path, capsys):
    pool, db, rows = small_pool(tmp_path)
    out = tmp_path / "out"
    args = ["--pool-root", str(pool), "--output-dir", str(out), "--num-workers", "1", "-q"]
    assert front.main(["--index-db", str(db), *args]) == 0
    fewer = write_index(tmp_path / "fewer.db", [r for r in rows if r[1] != "rain"])
    assert front.main(["--index-db", str(fewer), *args]) == 0
    assert json.loads((out / LABELS_FILENAME).read_text())["class_to_index"] == {"bat": 0, "owl": 1}
    assert sorted(p.parent.name for p in out.rglob("*.npy")) == ["bat", "bat", "owl", "owl", "owl"]
