"""Grouping: a recording and its augmentations together; patterns and copies merge groups,
across classes as within one."""

from __future__ import annotations

import pytest

from nightscan_common.errors import UsageError
from nightscan_common.formats.pool_reader import PoolFile
from nightscan_common.plans.grouping import compile_group_pattern, group_class, group_pool


def files_of(sources_and_sizes: dict[str, int], sha: dict[str, str] | None = None) -> list[PoolFile]:
    files = []
    for source, size in sources_and_sizes.items():
        stem = source.replace("/", "_")
        files.append(PoolFile(name=f"{stem}_original.wav", is_augmented=False, source=source,
                              augmentation=None, sha256=(sha or {}).get(source, source)))
        files += [PoolFile(name=f"{stem}_aug{n:03d}_noise.wav", is_augmented=True, source=source,
                           augmentation="noise") for n in range(1, size)]
    return files


def keys(grouping) -> list[tuple[str, int]]:
    return [(g.key, len(g.files)) for g in grouping.groups]


def test_each_original_and_its_augmentations_make_one_group_keyed_by_its_recording():
    grouping = group_class(files_of({"b": 3, "a": 1}), name="owl")
    assert keys(grouping) == [("owl/a", 1), ("owl/b", 3)]
    assert (grouping.unmatched, grouping.copies, grouping.shared) == (0, 0, frozenset())


def test_a_group_pattern_merges_sources_and_counts_those_it_does_not_match():
    pattern = compile_group_pattern(r"^(site\d+)_")
    grouping = group_class(files_of({"site1_a": 2, "site1_b": 3, "site2_a": 1, "odd": 2}), name="owl",
                           pattern=pattern)
    assert keys(grouping) == [("owl/odd", 2), ("site1", 5), ("site2", 1)]
    assert grouping.unmatched == 1
    whole_match = group_class(files_of({"x_night1": 1, "y_night1": 1}), name="owl",
                              pattern=compile_group_pattern("night1"))
    assert [g.key for g in whole_match.groups] == ["night1"]


def test_an_empty_pattern_match_does_not_merge_everything():
    grouping = group_class(files_of({"a": 1, "b": 1}), name="owl", pattern=compile_group_pattern("z*"))
    assert len(grouping.groups) == 2
    assert grouping.unmatched == 2


def test_an_invalid_pattern_is_refused_with_the_pattern():
    with pytest.raises(UsageError, match=r"'\(site' is not a valid regular expression"):
        compile_group_pattern("(site")


def test_identical_originals_share_a_group():
    grouping = group_class(files_of({"a": 2, "b": 3, "c": 1}, sha={"a": "same", "c": "same"}), name="owl")
    assert keys(grouping) == [("owl/a", 3), ("owl/b", 3)]
    assert grouping.copies == 1


def test_a_site_key_is_one_group_over_every_class_and_only_shared_groups_are_marked():
    pool = {"owl": files_of({"site1_a": 2, "site2_a": 1}), "moth": files_of({"site1_x": 3, "own": 1})}
    grouping = group_pool(pool, pattern=compile_group_pattern(r"^(site\d+)_"))
    assert keys(grouping.classes["owl"]) == [("site1", 2), ("site2", 1)]
    assert keys(grouping.classes["moth"]) == [("moth/own", 1), ("site1", 3)]
    assert grouping.shared == {"site1": {"moth": 3, "owl": 2}}
    assert grouping.classes["owl"].shared == frozenset({"site1"})
    assert grouping.sites == {"owl/site1_a": "site1", "owl/site2_a": "site2", "moth/site1_x": "site1"}


def test_one_content_in_two_classes_joins_one_group_by_sha256_or_by_fingerprint_link():
    pool = {"owl": files_of({"a": 2, "b": 1}, sha={"a": "same"}),
            "moth": files_of({"x": 3, "y": 1}, sha={"x": "same"})}
    grouping = group_pool(pool)
    assert grouping.shared == {"moth/x": {"moth": 3, "owl": 2}}
    assert grouping.classes["owl"].copies == 0  # a copy in another class is not one of the class's copies
    linked = group_pool(pool, content={"owl/b_original.wav": "moth/y_original.wav"})
    assert set(linked.shared) == {"moth/x", "moth/y"}


def test_clips_named_from_the_audio_root_are_one_group_per_recording_over_classes():
    owl = [PoolFile(name="night_w000_original.wav", is_augmented=False, source="site1/night.wav",
                    augmentation=None, sha256="s0"),
           PoolFile(name="night_w000_aug001_noise.wav", is_augmented=True, source="site1/night.wav",
                    augmentation="noise")]
    moth = [PoolFile(name="night_w003_original.wav", is_augmented=False, source="site1/night.wav",
                     augmentation=None, sha256="s3")]
    grouping = group_pool({"owl": owl, "moth": moth}, root_relative=True)
    assert grouping.shared == {"site1/night.wav": {"moth": 1, "owl": 2}}
    assert grouping.recording("moth", moth[0]) == "site1/night.wav"
    apart = group_pool({"owl": owl, "moth": moth})  # relative to the class folders: two recordings
    assert apart.shared == {}
