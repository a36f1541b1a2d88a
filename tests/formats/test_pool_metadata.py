"""The pool metadata's typed records: what step 1 writes reads back into the same records."""

from __future__ import annotations

import pytest
from pool_helpers import metadata, run_pool

from nightscan_common.formats.pool_metadata import AUGMENTED, BadEntry, FileRecord, PoolMetadata


def test_a_written_pool_reads_back_into_records_that_write_the_same_json(tmp_path, make_audio_root):
    root = make_audio_root({"owl": 2, "bat": 3}, seconds=0.3)
    run_pool(root, tmp_path / "pool", target_samples=4, augmentations=("volume",))
    meta = metadata(tmp_path / "pool")
    records = PoolMetadata.from_dict(meta)
    assert records.to_dict() == meta
    owl = records.classes["owl"]
    assert [f.is_augmented for f in owl.files] == [False, True, False, True]
    assert owl.files[1].augmentation == "volume" and owl.files[0].sha256 and owl.files[0].frames == 4800


def test_none_fields_are_not_written_and_unknown_keys_are_ignored():
    rec = FileRecord(filename="a_aug001_volume.wav", type=AUGMENTED, source="a.wav", augmentation="volume",
                     seed=0, params={})
    assert rec.to_dict() == {"filename": "a_aug001_volume.wav", "type": "augmented", "source": "a.wav",
                             "augmentation": "volume", "seed": 0, "params": {}}
    assert FileRecord.from_dict({**rec.to_dict(), "future_field": 1}) == rec


@pytest.mark.parametrize("entry, message", [
    ("x", "expected an object, got 'x'"),
    ({"filename": "../a.wav", "type": "original", "source": "a.wav"}, "'filename' must be a file name"),
    ({"filename": "a.wav", "type": "copy", "source": "a.wav"}, "'type' must be 'original' or 'augmented'"),
    ({"filename": "a.wav", "type": "original", "source": ""}, "'source' must be the original's path"),
])
def test_a_bad_entry_says_which_field(entry, message):
    with pytest.raises(BadEntry, match=message):
        FileRecord.from_dict(entry)
