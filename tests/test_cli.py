"""The shared CLI policy: every script's --help documents the statuses and every option."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

import create_augmented_pool
import create_balanced_index
import make_demo_data
import pregenerate_spectrograms_simple
from nightscan_common import cli
from nightscan_common.cli import EXIT_STATUS_HELP
from nightscan_common.dsp.animals import DEFAULT_PRESET, PRESETS
from nightscan_common.execution.base import DEFAULT_NUM_WORKERS
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.steps import demo_data
from nightscan_common.steps.index import IndexOptions, run_index
from nightscan_common.steps.pool import PoolOptions, run_pool
from nightscan_common.steps.pool_options import DEFAULT_OUTPUT_DIR as DEFAULT_POOL_DIR
from nightscan_common.steps.spectrograms import run_spectrograms
from nightscan_common.vocabulary import SPLITS

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

    root = make_audio_root({"owl": 3, "bat": 3}, seconds=0.3)
    quiet = RunOptions(num_workers=1, progress=False)
    pool = run_pool(root, tmp_path / "pool", PoolOptions(target_samples=4, augmentations=("volume",)),
                    run=quiet)
    index = run_index(tmp_path / "pool", tmp_path / "index.db")
    spec = run_spectrograms(tmp_path / "index.db", tmp_path / "pool", tmp_path / "spec", PRESETS["general"],
                            run=quiet)
    for report, key, value in ((pool, "written", 8), (index, "leaking_groups", 0), (spec, "failures", [])):
        data = json.loads(json.dumps(report.to_dict()))
        assert data["status"] == report.status == 0 and data[key] == value


def _library_defaults(func) -> dict[str, object]:
    return {name: p.default for name, p in inspect.signature(func).parameters.items()
            if p.default is not inspect.Parameter.empty}


def test_every_front_ends_defaults_are_its_librarys_defaults():
    """With no option given, each script asks its step for exactly what the library would do
    by default: the content options' dataclass, the run options' record, the step's keywords."""
    args = create_augmented_pool.build_parser().parse_args(["--audio-root", "a"])
    assert create_augmented_pool.options_from_args(args) == PoolOptions()
    lib = _library_defaults(run_pool)
    assert cli.run_options(args) == lib["run"] == RunOptions()
    step = create_augmented_pool.step_keywords(args)
    assert step == {k: v for k, v in lib.items() if k in step}
    assert set(step) | {"run", "executor"} == set(lib)  # the front end passes every keyword
    assert RunOptions().num_workers == DEFAULT_NUM_WORKERS and args.output_dir == DEFAULT_POOL_DIR

    args = create_balanced_index.build_parser().parse_args(["--pool-dir", "p"])
    assert create_balanced_index.options_from_args(args) == IndexOptions()
    lib = _library_defaults(run_index)
    assert (args.output_db, args.overwrite, cli.run_options(args)) == (lib["output_db"], lib["overwrite"],
                                                                        lib["run"])

    args = pregenerate_spectrograms_simple.build_parser().parse_args(["--index-db", "i", "--pool-root", "p"])
    assert pregenerate_spectrograms_simple.config_from_args(args) == PRESETS[DEFAULT_PRESET]
    lib = _library_defaults(run_spectrograms)
    assert (cli.run_options(args), args.overwrite, args.split) == (lib["run"], lib["overwrite"], None)
    assert lib["splits"] == SPLITS


def test_every_step_takes_its_run_control_as_one_record_and_only_keywords_after_its_inputs():
    """``run_x(inputs..., content options, *, run=RunOptions(), executor=None, ...)``: no step
    takes a run-control field of its own."""
    control = {f.name for f in dataclasses.fields(RunOptions)} | {"item_timeout", "task_timeout"}
    for step, positional in ((run_pool, 3), (run_index, 3), (run_spectrograms, 4)):
        params = inspect.signature(step).parameters.values()
        assert [p.kind for p in params][:positional] == [inspect.Parameter.POSITIONAL_OR_KEYWORD] * positional
        assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in list(params)[positional:])
        assert "run" in inspect.signature(step).parameters
        assert not control & set(inspect.signature(step).parameters), step.__name__

    args = make_demo_data.build_parser().parse_args([])
    lib = _library_defaults(demo_data.make_demo_data)
    assert (Path(args.output_dir), args.seed, args.scale, args.overwrite, not args.quiet) == (
        Path(lib["output_dir"]), lib["seed"], lib["scale"], lib["overwrite"], lib["progress"])


def test_reports_are_frozen(tmp_path, make_audio_root):
    root = make_audio_root({"owl": 3}, seconds=0.3)
    report = run_pool(root, tmp_path / "pool", PoolOptions(target_samples=3), dry_run=True,
                      run=RunOptions(num_workers=1, progress=False))
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.written = 5  # type: ignore[misc]


def test_a_library_warning_is_one_toolkit_line_once_without_its_source_line(capsys):
    """26 identical audiomentations UserWarnings in a run were 52 raw lines; now one ``warning:`` line."""
    import warnings

    from nightscan_common import cli

    def from_audiomentations() -> None:  # the file name a warning carries is its library's
        exec(compile('warnings.warn("the SNR is out of range", UserWarning)',
                     "/site-packages/audiomentations/core/transforms_interface.py", "exec"),
             {"warnings": warnings})

    with warnings.catch_warnings():
        cli.configure_logging(False, False)
        for _ in range(26):
            from_audiomentations()
    err = capsys.readouterr().err
    assert err == "warning: audiomentations: the SNR is out of range\n"
