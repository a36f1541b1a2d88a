"""Step 3's output folder: its settings file (what a rerun must match), its labels, failure
list and warning list."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..dsp.spectrogram import FIXED_PARAMETERS, SpectrogramConfig
from ..errors import OutputConflictError, UsageError
from ..io.atomic_write import write_json
from ..io.bounded_json import check_json_file, load_json_file, load_json_if_valid
from ..io.links import refuse_folder_links
from ..vocabulary import Failure
from .labels import LABELS_FILENAME
from .provenance import guard
from .spectrogram_store import SpectrogramStore
from .window_manifest import WINDOWS_FILENAME

CONFIG_FILENAME = "spectrogram_config.json"
FAILURES_FILENAME = "failures.json"
WARNINGS_FILENAME = "warnings.json"
CONFIG_FORMAT_VERSION = 1
#: The JSON files of the folder that step 3 reads back on a rerun.
OWN_JSON_FILES = (CONFIG_FILENAME, LABELS_FILENAME, FAILURES_FILENAME, WARNINGS_FILENAME, WINDOWS_FILENAME)


def _remedy(name: str) -> str:
    return f"remove it (step 3 writes {name} anew), or rerun with --overwrite"


def settings_record(config: SpectrogramConfig, *, preset: str | None) -> dict[str, Any]:
    """What ``spectrogram_config.json`` holds: every setting, the shape, the tool version."""
    return {
        "format_version": CONFIG_FORMAT_VERSION,
        "tool_version": __version__,
        "animal_type": preset,
        "spectrogram": config.to_dict(),
        "fixed": dict(FIXED_PARAMETERS),
        "shape": list(config.shape),
    }


def _recorded(settings: Any) -> dict[str, Any]:
    """What must match for equal files: every setting and the fixed parameters (the tool
    version and the preset's name do not count)."""
    if not isinstance(settings, dict) or not isinstance(settings.get("spectrogram"), dict):
        return {"settings": "in an unknown format"}
    return {**settings["spectrogram"], **{f"fixed {k}": v for k, v in (settings.get("fixed") or {}).items()}}


def _read_settings(path: Path) -> Any:
    try:
        return load_json_file(path, remedy="")
    except UsageError:
        return "unreadable"


def inputs_recorded(config_path: Path, settings: dict[str, Any]) -> bool:
    """Whether the settings file already records this run's inputs (the version record)."""
    old = _read_settings(config_path)
    return isinstance(old, dict) and old.get("inputs") == settings.get("inputs")


def check_output_folder(out_dir: Path, store: SpectrogramStore, settings: dict[str, Any], *,
                        overwrite: bool, others: Sequence[SpectrogramStore] = ()) -> bool:
    """Whether ``spectrogram_config.json`` must be (re)written; refuse mixing settings.

    ``OutputConflictError`` when the folder holds spectrograms made with other
    settings, or of unknown settings (in the run's layout or any of the ``others``),
    and ``overwrite`` is false.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--output-dir {out_dir} exists and is not a folder")
    refuse_folder_links(out_dir, depth=2, option="--output-dir")  # <split>/<class>, or a layout's own
    config_path = out_dir / CONFIG_FILENAME
    if overwrite:
        return True  # the folder's own files are removed, never read
    for name in OWN_JSON_FILES:  # a link to /dev/zero or a FIFO: refused before any work
        check_json_file(out_dir / name, remedy=_remedy(name))
    if config_path.exists():
        old = _recorded(_read_settings(config_path))
        return guard(out_dir, "spectrograms", old, _recorded(settings), option="--output-dir",
                     overwrite=False)
    if any(held.holds_output() for held in (store, *others)):
        raise OutputConflictError(
            f"{out_dir} holds spectrograms but no {CONFIG_FILENAME}, so their settings are "
            "unknown; use another --output-dir, or --overwrite to delete them and start again")
    return True


def remove_previous_output(out_dir: Path, store: SpectrogramStore,
                           others: Sequence[SpectrogramStore] = ()) -> int:
    """Delete what this tool wrote below ``out_dir``; return how many spectrograms went.

    ``others`` are the stores of the layouts not chosen: their files go too, since the
    config that described them goes (a tree left beside a packed build made with new
    settings would otherwise be counted as done by a later tree run).

    .. note:: Only the stores' own files, the config, the labels, failures.json,
       warnings.json and windows.json are deleted; other files stay.
    """
    removed = sum(held.remove_own() for held in (store, *others))
    for name in OWN_JSON_FILES:
        (out_dir / name).unlink(missing_ok=True)
    return removed


def write_failures(path: Path, failures: Sequence[Failure]) -> None:
    """``failures.json`` lists this run's failures; a clean run removes an older list."""
    write_list(path, [{"path": f.path, "reason": f.reason} for f in failures])


def write_list(path: Path, listed: list[dict[str, Any]]) -> None:
    """A list file of the folder (failures, warnings): an empty list removes an older file,
    and a rerun that found the same list leaves the file as it was."""
    if not listed:
        path.unlink(missing_ok=True)
        return
    if load_json_if_valid(path, remedy=_remedy(path.name)) == listed:
        return  # a rerun that changed nothing leaves the file as it was
    write_json(path, listed)
