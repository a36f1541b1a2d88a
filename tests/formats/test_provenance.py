"""The provenance guard: one message for every output, naming each change."""

from __future__ import annotations

import pytest

from nightscan_common.errors import OutputConflictError
from nightscan_common.formats.provenance import changes, guard


def test_changes_name_each_key_old_and_new_and_fingerprints_only_differ():
    old = {"seed": 1, "mode": "copy", "sha256": "a" * 64, "same": [1]}
    new = {"seed": 2, "mode": None, "sha256": "b" * 64, "same": [1], "added": True}
    assert changes(old, new) == ['added none -> true', 'mode "copy" -> none', "seed 1 -> 2", "sha256 differs"]


def test_the_guard_refuses_with_one_message_or_lets_overwrite_through(tmp_path):
    with pytest.raises(OutputConflictError) as info:
        guard(tmp_path, "a pool", {"seed": 1}, {"seed": 2}, option="--output-dir", overwrite=False)
    assert str(info.value) == (f"{tmp_path} holds a pool made with other options (seed 1 -> 2); "
                               "use --overwrite to replace it, or choose another --output-dir")
    assert guard(tmp_path, "a pool", {"seed": 1}, {"seed": 2}, option="--output-dir", overwrite=True)
    assert not guard(tmp_path, "a pool", {"seed": 1}, {"seed": 1}, option="--output-dir", overwrite=False)
