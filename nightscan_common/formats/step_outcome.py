"""What a step said as it ended (exit status, why, warnings), kept beside its output.

The report and the pipeline's recap read it, so that they repeat the step's own words
instead of guessing them from its outputs (a step 2 that exited 1 for a recording filed
under two classes is not "exit 0" in the report). Steps 1 and 3 keep it in their folder
as ``step_outcome.json`` (beside ``pool_metadata.json``, ``failures.json``); step 2,
whose output is one file, beside its index as ``<index>.outcome.json``. It names the checksum of the output it
speaks of (``pool_metadata.json``, the index, ``spectrogram_config.json``), so that an
outcome left by an earlier run is never taken for the one of the output as it is now.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..io.atomic_write import write_json
from ..io.file_hash import file_sha256

OUTCOME_FILENAME = "step_outcome.json"
INDEX_SUFFIX = ".outcome.json"
#: The file of each step's output whose checksum an outcome names.
CHECKED = {1: "pool_metadata.json", 3: "spectrogram_config.json"}


@dataclass(frozen=True, kw_only=True)
class StepOutcome:
    """One step's end: its exit status, why (empty for 0), its warnings, the recordings it found
    filed under two classes or more (steps 1 and 2; as lists of names), the output's checksum."""

    step: int
    status: int
    why: str = ""
    warnings: list[str] = field(default_factory=list)
    cross_class: list[list[str]] = field(default_factory=list)
    output_sha256: str = ""


def outcome_path(step: int, output: str | os.PathLike) -> Path:
    """Where step ``step`` keeps the outcome of ``output``: in its folder, or beside step 2's index."""
    output = Path(output).absolute()
    return output.with_name(output.name + INDEX_SUFFIX) if step == 2 else output / OUTCOME_FILENAME


def _checked_file(step: int, output: Path) -> Path:
    return output if step == 2 else output / CHECKED[step]


def write_outcome(output: str | os.PathLike, outcome: StepOutcome) -> None:
    """Keep ``outcome`` beside ``output``, with the checksum of the output as it is now;
    nothing is written when the output was not (a refused run leaves the earlier outcome)."""
    output = Path(output)
    checked = _checked_file(outcome.step, output)
    if not checked.is_file():
        return
    record = asdict(outcome) | {"output_sha256": file_sha256(checked)}
    write_json(outcome_path(outcome.step, output), record)


def read_outcome(step: int, output: str | os.PathLike) -> StepOutcome | None:
    """The outcome of the run that made ``output`` as it is now; None when there is none, it is
    unreadable, or it speaks of another version of the output."""
    output = Path(output)
    try:
        data: Any = json.loads(outcome_path(step, output).read_text(encoding="utf-8"))
        outcome = StepOutcome(step=int(data["step"]), status=int(data["status"]), why=str(data["why"]),
                              warnings=[str(w) for w in data["warnings"]],
                              cross_class=[[str(n) for n in names] for names in data.get("cross_class", [])],
                              output_sha256=str(data["output_sha256"]))
        current = file_sha256(_checked_file(step, output))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return outcome if outcome.step == step and outcome.output_sha256 == current else None
