"""SpectrogramDataset: the same items over every layout, NightScan's loader's arrays, global labels."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT
from nightscan_loader import CachedSpectrogramLoader
from spectrogram_helpers import small_pool

import pregenerate_spectrograms_simple as front
from nightscan_common.dataset import SpectrogramDataset, detect_layout
from nightscan_common.errors import UnfinishedLayoutError, UsageError
from nightscan_common.formats.labels import read_labels
from nightscan_common.formats.layouts import LAYOUTS


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``(pool, index, base)``: the small pool in every layout, ``base/<layout>``."""
    base = tmp_path_factory.mktemp("dataset")
    pool, db, _ = small_pool(base)
    for layout in LAYOUTS:
        assert front.main([str(a) for a in ("--index-db", db, "--pool-root", pool, "--output-dir",
                                            base / layout, "--num-workers", "2", "-q", "--layout", layout,
                                            "--shard-size", 2)]) == 0
    return pool, db, base


def _items(dataset) -> list[tuple[bytes, str, tuple, int]]:
    items = (dataset[i] for i in range(len(dataset)))
    return [(a.tobytes(), str(a.dtype), a.shape, label) for a, label in items]


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_every_layout_gives_the_same_items(built, split):
    _, db, base = built
    tree = _items(SpectrogramDataset(base / "tree", split, index_db=db))
    assert len(tree) == {"train": 4, "val": 1, "test": 2}[split]
    for layout in ("packed", "webdataset"):
        found = SpectrogramDataset(base / layout, split)
        assert found.layout == layout
        assert sorted(_items(found)) == sorted(tree)


def test_the_tree_reader_serves_nightscans_rows_in_its_order_with_global_labels(built):
    pool, db, base = built
    labels = read_labels(base / "tree")
    for split in ("train", "val", "test"):
        ours = SpectrogramDataset(base / "tree", split, index_db=db)
        theirs = CachedSpectrogramLoader(db, pool, base / "tree", split)
        assert len(ours) == len(theirs)
        for i in range(len(ours)):
            array, label = ours[i]
            reference, _ = theirs[i]
            assert np.array_equal(np.repeat(array[None], 3, axis=0), reference)
            assert label == labels[theirs.row(i)["class_name"]]
        theirs.close()


def test_a_split_without_some_class_keeps_the_global_label_indices(built):
    pool, db, base = built
    # test holds bat and rain, no owl: NightScan's loader numbers rain 1 there, labels.json 2
    theirs = CachedSpectrogramLoader(db, pool, base / "tree", "test")
    assert theirs.class_to_idx == {"bat": 0, "rain": 1}
    theirs.close()
    assert read_labels(base / "packed") == {"bat": 0, "owl": 1, "rain": 2}
    for layout in LAYOUTS:
        found = SpectrogramDataset(base / layout, "test", index_db=db if layout == "tree" else None)
        assert sorted(label for _, label in (found[i] for i in range(len(found)))) == [0, 2]
        assert found.class_names == ["bat", "owl", "rain"]


def test_the_layout_is_detected_and_several_layouts_need_a_choice(built, tmp_path):
    _, db, base = built
    assert [detect_layout(base / layout, "train") for layout in LAYOUTS] == list(LAYOUTS)
    with pytest.raises(UsageError, match="holds no spectrograms of split 'train'"):
        detect_layout(tmp_path, "train")
    (base / "packed" / "train").mkdir()
    try:
        with pytest.raises(UsageError, match=r"several layouts \(tree, packed\); pass layout="):
            SpectrogramDataset(base / "packed", "train")
        assert len(SpectrogramDataset(base / "packed", "train", layout="packed")) == 4
    finally:
        (base / "packed" / "train").rmdir()
    with pytest.raises(UsageError, match="the tree layout's rows come from the index: pass index_db="):
        SpectrogramDataset(base / "tree", "train")


@pytest.mark.parametrize("layout, leftover", [("packed", "packed/.val.journal"),
                                              ("webdataset", "shards/.val.journal")])
def test_an_unfinished_layout_is_refused_with_one_line(built, layout, leftover):
    _, _, base = built
    marker = base / layout / leftover
    marker.write_text("0" * 64 + "\n")
    try:
        with pytest.raises(UnfinishedLayoutError) as exc:
            SpectrogramDataset(base / layout, "val")
    finally:
        marker.unlink()
    assert str(exc.value).count("\n") == 0
    assert "split 'val' is unfinished" in str(exc.value) and f"--layout {layout}" in str(exc.value)


def test_a_packed_table_that_disagrees_with_labels_json_is_refused(built, tmp_path):
    _, _, base = built
    copy = tmp_path / "copy"
    shutil.copytree(base / "packed", copy)
    table = copy / "packed" / "val.csv"
    table.write_text(table.read_text().replace(",owl,1,", ",owl,2,"))
    with pytest.raises(UsageError, match="gives 'owl' the class index 2, labels.json 1: rebuild the split"):
        SpectrogramDataset(copy, "val")


def test_transform_indexing_and_pickling(built):
    _, db, base = built
    for layout in LAYOUTS:
        dataset = SpectrogramDataset(base / layout, "train", transform=lambda a: a[:2, :3] * 0 + 1,
                                     index_db=db if layout == "tree" else None)
        array, _ = dataset[-1]
        assert array.tolist() == [[1, 1, 1], [1, 1, 1]]
        with pytest.raises(IndexError, match="index 4 out of range for 4 rows"):
            dataset[4]
        plain = SpectrogramDataset(base / layout, "train", index_db=db if layout == "tree" else None)
        plain[0]  # opens its files in this process; a copy opens its own
        copy = pickle.loads(pickle.dumps(plain))
        assert _items(copy) == _items(plain)


def test_packed_items_are_writable_copies_on_write(built):
    _, _, base = built
    dataset = SpectrogramDataset(base / "packed", "val")
    before = (base / "packed" / "packed" / "val.npy").read_bytes()
    array, _ = dataset[0]
    array[:] = 7
    assert (base / "packed" / "packed" / "val.npy").read_bytes() == before
    assert not np.all(SpectrogramDataset(base / "packed", "val")[0][0] == 7)


def test_the_reader_needs_numpy_alone():
    heavy = {"torch", "librosa", "soundfile", "scipy"}
    code = ("import sys; import nightscan_common.dataset; "
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy!r}))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"


def _cut_copy(built, tmp_path, cut) -> Path:
    """A copy of the webdataset folder whose first train shard is cut at ``cut(members)``."""
    _, _, base = built
    copy = tmp_path / "copy"
    shutil.copytree(base / "webdataset", copy)
    shard = sorted((copy / "shards").glob("train-*.tar"))[0]
    with tarfile.open(shard) as tar:
        members = list(tar)
    with open(shard, "r+b") as fh:
        fh.truncate(cut(members))
    return copy


def test_a_shard_cut_at_a_member_boundary_is_refused_not_read_shorter(built, tmp_path):
    # the first sample's two members whole, the second's gone: tarfile reads one sample
    copy = _cut_copy(built, tmp_path, lambda m: m[1].offset_data + -(-m[1].size // 512) * 512)
    with pytest.raises(UsageError, match=r"split 'train' holds 3 samples, step 3 wrote 4: a shard was cut"):
        SpectrogramDataset(copy, "train")


def test_a_shard_cut_inside_a_member_is_the_toolkits_error(built, tmp_path):
    copy = _cut_copy(built, tmp_path, lambda m: m[3].offset_data + 100)
    with pytest.raises(UsageError, match=r"train-000000\.tar is (not a readable tar shard|cut inside)"):
        SpectrogramDataset(copy, "train")


def test_a_labels_json_edited_by_hand_is_refused_by_the_tree_reader(built, tmp_path):
    _, db, base = built
    copy = tmp_path / "copy"
    shutil.copytree(base / "tree", copy)
    record = json.loads((copy / "labels.json").read_text())
    record["class_to_index"] = {"aardvark": 0, "bat": 1, "owl": 2, "rain": 3}  # every label shifted by one
    (copy / "labels.json").write_text(json.dumps(record))
    with pytest.raises(UsageError, match=r"labels\.json does not number the classes of .*index.* "
                                         r"\(the index against it: classes gone aardvark\); rerun step 3"):
        SpectrogramDataset(copy, "train", index_db=db)


def test_a_cut_shard_of_a_folder_without_the_record_of_rows_is_refused_by_its_manifest(built, tmp_path):
    copy = _cut_copy(built, tmp_path, lambda m: m[1].offset_data + -(-m[1].size // 512) * 512)
    (copy / "shards" / ".train.rows.npy").unlink()  # as an earlier version wrote the folder
    with pytest.raises(UsageError, match=r"split 'train' holds 3 samples, step 3 wrote 4"):
        SpectrogramDataset(copy, "train")
    (copy / "shards" / ".spectrogram_sources.jsonl").unlink()
    assert len(SpectrogramDataset(copy, "train")) == 3  # nothing recorded: nothing to check against
