"""The shared CLI policy: every script's --help documents the statuses and every option."""

from __future__ import annotations

import pytest

import create_augmented_pool
import create_balanced_index
import make_demo_data
import pregenerate_spectrograms_simple
from nightscan_common.cli import EXIT_STATUS_HELP

SCRIPTS = [create_augmented_pool, create_balanced_index, pregenerate_spectrograms_simple, make_demo_data]


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda m: m.__name__)
def test_every_help_has_the_exit_statuses_and_a_text_for_every_option(script):
    parser = script.build_parser()
    assert parser.format_help().rstrip().endswith(EXIT_STATUS_HELP)
    for action in parser._actions:
        text = (action.help or "").replace("(default: %(default)s)", "").strip(" ()")
        assert text, f"{action.option_strings} has no help text"


def test_an_abbreviated_option_is_refused_not_guessed(capsys):
    assert all(script.build_parser().allow_abbrev is False for script in SCRIPTS)
    with pytest.raises(SystemExit) as info:
        create_augmented_pool.build_parser().parse_args(["--audio-roo", "x"])
    assert info.value.code == 2
    assert "the following arguments are required: --audio-root" in capsys.readouterr().err


def test_a_missing_noise_folder_is_named_and_no_raw_none_is_shown(tmp_path, capsys):
    (tmp_path / "audio" / "owl").mkdir(parents=True)
    args = ["--audio-root", str(tmp_path / "audio"), "--augmentations", "background_noise", "-q"]
    assert create_augmented_pool.main(args) == 2
    assert capsys.readouterr().err.strip().endswith("a folder of ambient recordings (none given)")


def test_every_report_has_a_status_and_a_json_ready_dict(tmp_path, make_audio_root):
    import json

    from nightscan_common.dsp.spectrogram import PRESETS
    from nightscan_common.steps.index import build_index
    from nightscan_common.steps.pool import PoolOptions, build_pool
    from nightscan_common.steps.spectrograms import run_spectrograms

    root = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    pool = build_pool(PoolOptions(audio_root=root, output_dir=tmp_path / "pool", target_samples=4,
                                  augmentations=("volume",), num_workers=1, progress=False))
    index = build_index(tmp_path / "pool", tmp_path / "index.db")
    spec = run_spectrograms(tmp_path / "index.db", tmp_path / "pool", tmp_path / "spec", PRESETS["general"],
                            progress=False)
    for report, key, value in ((pool, "written", 8), (index, "leaking_groups", 0), (spec, "failures", [])):
        data = json.loads(json.dumps(report.to_dict()))
        assert data["status"] == report.status == 0 and data[key] == value
