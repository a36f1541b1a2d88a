"""Grouping: an original and its augmentations together; patterns and copies merge groups."""

from __future__ import annotations

import pytest

from nightscan_common.errors import UsageError
from nightscan_common.formats.pool_reader import PoolFile
from nightscan_common.plans.grouping import compile_group_pattern, group_class


def files_of(sources_and_sizes: dict[str, int], sha: dict[str, str] | None = None) -> list[PoolFile]:
    files = []
    for source, size in sources_and_sizes.items():
        files.append(PoolFile(f"{source}_original.wav", False, source, None, (sha or {}).get(source, source)))
        files += [PoolFile(f"{source}_aug{n:03d}_noise.wav", True, source, "noise") for n in range(1, size)]
    return files


def test_each_original_and_its_augmentations_make_one_group():
    grouping = group_class(files_of({"b": 3, "a": 1}))
    assert [(g.key, len(g.files)) for g in grouping.groups] == [("a", 1), ("b", 3)]
    assert (grouping.unmatched, grouping.copies) == (0, 0)


def test_a_group_pattern_merges_sources_and_counts_those_it_does_not_match():
    pattern = compile_group_pattern(r"^(site\d+)_")
    grouping = group_class(files_of({"site1_a": 2, "site1_b": 3, "site2_a": 1, "odd": 2}), pattern=pattern)
    assert [(g.key, len(g.files)) for g in grouping.groups] == [("odd", 2), ("site1", 5), ("site2", 1)]
    assert grouping.unmatched == 1
    whole_match = group_class(files_of({"x_night1": 1, "y_night1": 1}),
                              pattern=compile_group_pattern("night1"))
    assert [g.key for g in whole_match.groups] == ["night1"]


def test_an_empty_pattern_match_does_not_merge_everything():
    grouping = group_class(files_of({"a": 1, "b": 1}), pattern=compile_group_pattern("z*"))
    assert len(grouping.groups) == 2
    assert grouping.unmatched == 2


def test_an_invalid_pattern_is_refused_with_the_pattern():
    with pytest.raises(UsageError, match=r"'\(site' is not a valid regular expression"):
        compile_group_pattern("(site")


def test_identical_originals_share_a_group():
    grouping = group_class(files_of({"a": 2, "b": 3, "c": 1}, sha={"a": "same", "c": "same"}))
    assert [(g.key, len(g.files)) for g in grouping.groups] == [("a", 3), ("b", 3)]
    assert grouping.copies == 1
