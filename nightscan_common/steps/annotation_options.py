"""Step 1's annotation options checked, and turned into the clip planner's (``--annotations`` mode)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..annotations.labels import check_class_name
from ..dsp.spectrogram import PRESETS
from ..errors import UsageError
from ..plans.clips import ClipOptions

if TYPE_CHECKING:
    from .pool_options import PoolOptions

MULTI_LABEL = ("drop", "keep")
UNKNOWN_LABELS = ("error", "ignore")
POINT_EVENTS = ("drop", "centre")
TABLE_TIMES = ("expanded", "real")


def clip_options(o: PoolOptions) -> ClipOptions:
    """The planner's options from step 1's; the clip defaults to the animal type's spectrogram duration."""
    clip = o.clip if o.clip is not None else PRESETS[o.animal_type].duration
    return ClipOptions(clip=clip, hop=o.hop, multi_label=o.multi_label, max_per_recording=o.max_per_recording,
                       background_class=o.background_class, point_events=o.point_events, seed=o.seed,
                       time_expansion=o.time_expansion,
                       table_scale=o.time_expansion if o.table_time == "real" else 1.0)


def check_annotation_options(o: PoolOptions) -> None:
    """What annotation options need (``UsageError`` repeating the bad value)."""
    if not o.annotations:
        given = [n for n, v in (("--label-map", o.label_map), ("--label-column", o.label_column),
                                ("--min-confidence", o.min_confidence), ("--clip", o.clip),
                                ("--background-class", o.background_class),
                                ("--max-per-recording", o.max_per_recording)) if v is not None]
        given += ["--exhaustive"] if o.exhaustive else []
        given += ["--tables-are-exhaustive"] if o.tables_are_exhaustive else []
        if given:
            raise UsageError(f"{given[0]} needs --annotations PATH (a table or a folder of tables)")
        return
    if o.segment is not None:
        raise UsageError("--segment cuts whole recordings into windows; with --annotations the tables "
                         "place the clips (--clip, --hop): give one or the other")
    if o.background_noise_class is not None:
        raise UsageError("--background-noise-class reads a class folder; with --annotations use "
                         "--background-noise-dir DIR")
    for name, value in (("--clip", o.clip), ("--hop", o.hop)):
        if value is not None and not value > 0:
            raise UsageError(f"{name} must be above 0 seconds, got {value:g}")
    if not o.time_expansion >= 1:
        raise UsageError(f"--time-expansion must be 1 or more (10 for a x10 recording), "
                         f"got {o.time_expansion:g}")
    if o.max_per_recording is not None and o.max_per_recording < 1:
        raise UsageError(f"--max-per-recording must be at least 1, got {o.max_per_recording}")
    if o.min_confidence is not None and not 0 <= o.min_confidence <= 1:
        raise UsageError(f"--min-confidence must be between 0 and 1, got {o.min_confidence:g}")
    if (o.exhaustive or o.tables_are_exhaustive) and o.background_class is None:
        raise UsageError("--exhaustive and --tables-are-exhaustive say where --background-class NAME "
                         "clips may come from; give it")
    if o.background_class is not None:
        check_class_name(o.background_class, where="--background-class")
        if not (o.exhaustive or o.tables_are_exhaustive):
            raise UsageError("--background-class needs recordings declared complete: --exhaustive GLOB or "
                             "--tables-are-exhaustive (annotators often mark only their target species)")
    if o.label_map is not None and not o.label_map.is_file():
        raise UsageError(f"--label-map {o.label_map} not found or not a file")
