"""Step 1's annotation mode (``--annotations``): tables read, paired, labelled, and planned as clips.

``read_front_door`` reads every table and pairs it with its recording before any audio
is decoded (the classes come from the labels); ``discover_annotations`` checks the
recordings once each (the quality gate and content duplicates apply to recordings),
plans the clips (``plans.clips``) and gives each class its plan, with every clip an
original: a window of its recording, read with seeks, written sample for sample.
``annotation_record`` is what ``annotations.json`` holds: per table, the fate of its
rows; per class, its events, clips and recordings.
"""

from __future__ import annotations

import fnmatch
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..annotations.formats import read_table
from ..annotations.labels import check_class_name, classify, read_label_map, refuse_unknown
from ..annotations.pairing import Recordings, find_tables
from ..annotations.records import (
    ANNOTATIONS_FILENAME,
    FATES,
    NO_RECORDING,
    Event,
    TableError,
    TableRead,
)
from ..dsp.animals import PRESETS
from ..dsp.fingerprint import Fingerprint, group_duplicates
from ..errors import UsageError
from ..execution.base import Executor
from ..formats.pool_metadata import unit_key
from ..io.atomic_write import write_json
from ..io.audio_files import scan_audio_files
from ..plans.clips import ClipOptions, ClipPlan, Labelled, RecordingEvents, plan_clips
from ..plans.content_groups import plan_duplicates
from ..plans.pool_plan import plan_class
from . import pool_checks
from .pool_checks import ProbedOriginal, gate
from .pool_options import PoolOptions, PoolReport, PoolRun, Skipped, select_classes
from .pool_worker import PoolWorkerSetup

log = logging.getLogger("nightscan")


@dataclass(frozen=True, kw_only=True)
class FrontDoor:
    """The tables as read and paired: events per recording, the fate of the rows left out so far."""

    tables: tuple[TableRead, ...]
    table_recording: dict[str, str | None]  # table -> its recording (None: a path column, or none found)
    events: dict[str, tuple[Labelled, ...]]  # recording -> its events, in table and line order
    fates: dict[tuple[str, int], str]
    classes: tuple[str, ...]
    exhaustive: frozenset[str]
    skipped: tuple[Skipped, ...]
    row_class: dict[tuple[str, int], str] = field(default_factory=dict)


# ---------------------------------------------------------------- reading and pairing


def read_front_door(opts: PoolRun) -> FrontDoor:
    """Read every table, pair it with its recordings and label its rows (no audio decoded).

    ``UsageError`` (nothing written) when no table is found, or when the label map lacks
    labels and ``--unknown-labels`` is not ``ignore``.
    """
    o = opts.options
    found, missing = find_tables(o.annotations)
    if missing:
        raise UsageError(f"--annotations {missing[0]} not found")
    if not found:
        raise UsageError(f"--annotations {', '.join(map(str, o.annotations))}: "
                         "no table (.txt, .csv, .tsv) found")
    mapping = read_label_map(o.label_map) if o.label_map is not None else None
    recordings = Recordings(scan_audio_files(opts.audio_root).audio)
    skipped: list[Skipped] = []
    tables, table_recording = [], {}
    fates: dict[tuple[str, int], str] = {}
    row_class: dict[tuple[str, int], str] = {}
    events: dict[str, list[Labelled]] = defaultdict(list)
    unknown: Counter = Counter()
    paired: set[str] = set()
    for t in found:
        try:
            table = read_table(t.path, t.name, fmt=o.annotation_format, label=o.label_column)
        except TableError as exc:
            skipped.append(_skip(t.name, f"unreadable table: {exc}"))
            continue
        if table.encoding == "cp1252":
            log.warning(f"{t.name}: not UTF-8; read as Windows cp1252 text")
        if o.min_confidence is not None and not table.has_confidence and table.events:
            skipped.append(_skip(t.name, "--min-confidence needs a confidence column; this table has none"))
            continue
        tables.append(table)
        for p in table.problems:
            fates[(p.table, p.line)] = p.fate
            skipped.append(_skip(p.where, p.reason))
        own, why = (None, None)
        if any(e.recording is None for e in table.events) or not table.events:
            own, why = recordings.for_table(t.name)
            if why and not table.events:
                skipped.append(_skip(t.name, f"a table without rows, and {why}"))
            elif own:
                paired.add(own)
        table_recording[t.name] = own
        missing_named: set[str] = set()
        for ev in table.events:
            key = (ev.table, ev.line)
            rec, reason = recordings.for_path(ev.recording) if ev.recording else (own, why)
            if rec is None:
                fates[key] = NO_RECORDING
                if reason not in missing_named:
                    missing_named.add(reason)
                    skipped.append(_skip(t.name, f"its recording is missing: {reason}"))
                continue
            paired.add(rec)
            cls, fate = _row_class(ev, o, mapping)
            unknown[ev.label] += fate == "unknown"
            if fate in ("below confidence", "nocall"):  # no sound to keep background away from
                fates[key] = fate
                continue
            if cls is None:  # blank, ignored, unknown: left out, but a sound is there
                fates[key] = fate
            else:
                row_class[key] = cls
            events[rec].append(Labelled(ev, cls))
    unknown = +unknown  # the labels counted
    if unknown and o.unknown_labels != "ignore":
        refuse_unknown(unknown, o.label_map)
    for rec in sorted(set(recordings.paths) - paired):
        skipped.append(_skip(rec, "no table names this recording (a reviewed recording without events "
                                  "needs a header-only table)"))
    classes = sorted(set(row_class.values()))
    for cls in classes:
        check_class_name(cls, where="label")
    exhaustive = _exhaustive(o, tables, table_recording, events, paired)
    if o.background_class is not None and exhaustive:
        classes = sorted({*classes, o.background_class})
    return FrontDoor(tables=tuple(tables), table_recording=table_recording,
                     events={r: tuple(v) for r, v in sorted(events.items())}, fates=fates,
                     classes=tuple(classes), exhaustive=exhaustive,
                     skipped=tuple(sorted(skipped, key=lambda s: s.path)), row_class=row_class)


def _row_class(ev: Event, o: PoolOptions, mapping: dict[str, str] | None) -> tuple[str | None, str]:
    """(class, fate) of a row: ``below confidence`` first, then what its label says (``classify``)."""
    if o.min_confidence is not None and (ev.confidence is None or ev.confidence < o.min_confidence):
        return None, "below confidence"
    return classify(ev.label, mapping)


def _skip(path: str, reason: str) -> Skipped:
    log.warning(f"{path}: {reason}")
    return Skipped(path, reason)


def _exhaustive(o: PoolOptions, tables: list[TableRead], table_recording: dict[str, str | None],
                events: dict[str, list[Labelled]], paired: set[str]) -> frozenset[str]:
    """The recordings declared complete whose every table an annotator made (never detector output)."""
    if o.background_class is None:
        return frozenset()
    by_detector = {t.table for t in tables if t.detector}
    detector = {table_recording[t] for t in by_detector}
    detector |= {r for r, labs in events.items() for lab in labs if lab.event.table in by_detector}
    declared = {r for r in paired
                if o.tables_are_exhaustive or any(fnmatch.fnmatchcase(r, g) for g in o.exhaustive)}
    if declared & detector:
        log.warning(f"{len(declared & detector)} recording(s) declared exhaustive have detector tables "
                    "(BirdNET, Kaleidoscope auto IDs): no background is taken from them")
    return frozenset(declared - detector)


# ---------------------------------------------------------------- checks and plan


def discover_annotations(opts: PoolRun, executor: Executor,
                         ) -> tuple[PoolReport, dict[tuple[str, str], ProbedOriginal]]:
    """Check every paired recording, plan its clips, and plan each class over the clips."""
    fd: FrontDoor = opts.annotated
    o = opts.options
    skipped = list(fd.skipped)
    fates = dict(fd.fates)
    paths = {str(opts.audio_root / rec): rec for rec in fd.events}
    paths |= {str(opts.audio_root / r): r for r in fd.table_recording.values() if r is not None}
    found: dict[tuple[str, str], ProbedOriginal] = {}
    for outcome in executor.map(pool_checks.probe_original, sorted(paths), desc="checking recordings",
                                setup=PoolWorkerSetup(), timeout=opts.run.timeout,
                                progress=opts.run.progress):
        if outcome.ok:
            found[("", paths[outcome.item])] = outcome.result
        else:
            skipped.append(_skip(paths[outcome.item], outcome.error))
    found, refused = gate(o, found)
    gated = [replace(s, path=s.path.lstrip("/")) for s in refused]
    duplicates = _drop_copies(o, found)
    usable = {rec: found[("", rec)] for _, rec in sorted(found)}
    recs = [RecordingEvents(recording=rec, frames=p.frames, samplerate=p.samplerate, channels=p.channels,
                            events=fd.events.get(rec, ()),
                            exhaustive=rec in fd.exhaustive) for rec, p in usable.items()]
    plan = plan_clips(recs, clip_options(o))
    for rec, labs in fd.events.items():
        if rec not in usable:
            fates.update({(lab.event.table, lab.event.line): NO_RECORDING for lab in labs
                          if (lab.event.table, lab.event.line) not in fates})
    fates.update(plan.fates)
    for p in plan.problems:
        skipped.append(Skipped(p.where, p.reason))
        log.warning(f"{p.where}: {p.reason}")
    for w in plan.warnings:
        log.warning(w)
    windows: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    clip_events: dict[tuple[str, str], list[dict]] = {}
    for clip in plan.clips:
        windows[clip.cls][clip.recording].append(clip.window)
        clip_events[(clip.cls, unit_key(clip.recording, clip.window.offset))] = list(clip.events)
    plans, empty = [], []
    probes: dict[tuple[str, str], ProbedOriginal] = {}
    for cls in select_classes(opts):  # the labels' classes, or those of --specific-class
        own = windows.get(cls, {})
        if not own:
            empty.append(cls)
            log.warning(f"class {cls}: no clip; no output for it")
        probes.update({(cls, rec): usable[rec] for rec in own})
        plans.append(plan_class(cls, sorted(own), target=o.target_samples,
                                max_augmentations=o.max_augmentations,
                                augmentations=o.augmentations, seed=o.seed, keep_all=o.keep_all_originals,
                                windows=own))
    record = annotation_record(fd, plan, fates, plans)
    return PoolReport(plans=plans, skipped=sorted(skipped, key=lambda s: s.path), ignored={},
                      empty_classes=empty, gated=gated,
                      duplicates=duplicates, clip_events=clip_events, annotations=record), probes


def _drop_copies(o: PoolOptions, found: dict[tuple[str, str], ProbedOriginal]) -> dict[str, str]:
    """Copies of one recording under two names: one kept (unless ``--keep-duplicates``), the
    others taken out of ``found`` in place; returns copy -> the recording kept."""
    prints = {f"-/{rel}": Fingerprint.from_text(p.fingerprint) for (_, rel), p in found.items()}
    plan = plan_duplicates(group_duplicates(prints), keep_duplicates=o.keep_duplicates)
    copies = {}
    for copy, kept in sorted(plan.duplicate_of.items()):
        copy, kept = copy[2:], kept[2:]
        log.warning(f"{copy}: the same recording as {kept}; left out (--keep-duplicates keeps it)")
        found.pop(("", copy))
        copies[copy] = kept
    return copies


# ---------------------------------------------------------------- what was read


def annotation_record(fd: FrontDoor, plan: ClipPlan, fates: dict[tuple[str, int], str],
                      plans: list) -> dict[str, Any]:
    """``annotations.json``: per table its format, recording and the fate of its rows; per class
    its events (rows a clip covers), clips planned, clips kept by the balancing, recordings."""
    per_table: dict[str, Counter] = defaultdict(Counter)
    for (table, _), fate in fates.items():
        per_table[table][fate] += 1
    tables = []
    for t in fd.tables:
        counts = per_table[t.table] + Counter(t.counts)
        tables.append({"table": t.table, "format": t.format, "encoding": t.encoding,
                       "recording": fd.table_recording.get(t.table), "rows": t.rows,
                       "fates": {f: counts[f] for f in (*FATES, NO_RECORDING) if counts[f]}})
    kept = {p.name: p.kept for p in plans}
    classes: dict[str, dict[str, int]] = {}
    for cls in fd.classes:
        clips = [c for c in plan.clips if c.cls == cls]
        rows = [k for k, c in fd.row_class.items() if c == cls and fates.get(k) in ("used", "merged")]
        classes[cls] = {"events": len(rows), "clips": len(clips), "kept": kept.get(cls, 0),
                        "recordings": len({c.recording for c in clips})}
    return {"tables": tables, "classes": classes,
            "clips": [{"recording": c.recording, "class": c.cls, "offset": c.window.offset,
                       "frames": c.window.frames, "events": [f"{e['table']}:{e['line']}" for e in c.events]}
                      for c in plan.clips],
            "exhaustive": sorted(fd.exhaustive)}


def write_annotations(output_dir: Path, record: dict[str, Any]) -> None:
    """``annotations.json`` beside ``pool_metadata.json``; left as it is when it would not change."""
    path = output_dir / ANNOTATIONS_FILENAME
    try:
        if json.loads(path.read_text(encoding="utf-8")) == record:
            return
    except (OSError, ValueError):
        pass
    write_json(path, record)


def clip_options(o: PoolOptions) -> ClipOptions:
    """The planner's options from step 1's; the clip defaults to the animal type's spectrogram duration."""
    clip = o.clip if o.clip is not None else PRESETS[o.animal_type].duration
    return ClipOptions(clip=clip, hop=o.hop, multi_label=o.multi_label, max_per_recording=o.max_per_recording,
                       background_class=o.background_class, point_events=o.point_events, seed=o.seed,
                       time_expansion=o.time_expansion,
                       table_scale=o.time_expansion if o.table_time == "real" else 1.0)
