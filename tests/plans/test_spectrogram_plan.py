"""Step 3's plan: keys from split, class and stem, unsafe rows refused, shared keys refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from nightscan_common.errors import UsageError
from nightscan_common.formats.index_db import IndexRow
from nightscan_common.formats.tree_store import key_path
from nightscan_common.plans.spectrogram_plan import plan_jobs
from nightscan_common.vocabulary import Failure, job_key


@pytest.mark.parametrize("file_path, name", [
    ("owl/a.wav", "a.npy"), ("owl/a.b.flac", "a.b.npy"), ("owl/noext", "noext.npy"),
    ("owl/sub/c d'é.WAV", "c d'é.npy"), ("owl/.hidden", ".hidden.npy"), ("owl/a.", "a..npy"),
])
def test_the_tree_file_is_the_stem_plus_npy_as_the_loader_builds_it(file_path, name):
    path = key_path("/out", job_key("train", "owl", file_path))
    assert path == Path("/out/train/owl", name) and name == f"{Path('/pool', file_path).stem}.npy"


def test_plan_keys_use_split_class_name_and_stem():
    jobs, refused = plan_jobs([IndexRow("owl/x_original.mp3", "asio_flammeus", "val")])
    assert [(j.key, j.source, j.split) for j in jobs] == [
        ("val/asio_flammeus/x_original", "owl/x_original.mp3", "val")]
    assert refused == []


def test_unsafe_rows_are_refused_with_a_reason_and_the_rest_planned():
    jobs, refused = plan_jobs([IndexRow("../x.wav", "owl", "train"), IndexRow("owl/b.wav", "owl", "test"),
                               IndexRow("owl/a.wav", "owl", "train")])
    assert [j.key for j in jobs] == ["test/owl/b", "train/owl/a"]
    assert refused == [Failure("../x.wav", "file_path is not a plain relative path ('../x.wav'): "
                                           "it could escape the pool", "train")]


def test_two_rows_with_one_key_are_a_usage_error():
    with pytest.raises(UsageError, match=r"1 spectrogram\(s\) would each be made from several index rows: "
                                         r"train/owl/a <- owl/a\.flac, owl/a\.wav"):
        plan_jobs([IndexRow("owl/a.wav", "owl", "train"), IndexRow("owl/a.flac", "owl", "train")])
