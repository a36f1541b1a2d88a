"""Step 1's checks of the originals, from their one decode: the quality gate and content duplicates.

What goes in: an original that decodes, is not (near-)silent or too short
(``gate_reason``), and is not a copy of another original of its class
(``plan_duplicates``). One content under two classes is reported, not settled: only
the user knows which label is right.
"""

from __future__ import annotations

import logging
from typing import Any

from ..dsp.audit import Audit, gate_reason, probe_and_audit
from ..dsp.fingerprint import Fingerprint, group_duplicates
from ..formats.source_cache import file_identity
from ..io.audio_segments import silent_windows
from ..plans.content_groups import plan_duplicates
from ..plans.segments import window_offsets
from .pool_options import PoolOptions, Skipped

log = logging.getLogger("nightscan")


def probe_original(path: str, segment: float | None = None, hop: float | None = None) -> dict[str, Any]:
    """Runs in a worker: decode one original once; what it holds, its audit, its fingerprint;
    with ``segment``, its windows, digital silence left out."""
    identity = file_identity(path)  # before the read: a change during it shows next time
    probe, audit = probe_and_audit(path)
    record = audit.to_dict()
    found = {"frames": probe.frames, "samplerate": probe.samplerate, "channels": probe.channels,
             "sha256": probe.sha256, "peak": probe.peak, "identity": identity,
             "fingerprint": record.pop("fingerprint"), "audit": record}
    if segment is not None:
        windows = window_offsets(probe.frames, probe.samplerate, segment=segment, hop=hop)
        silent = silent_windows(path, windows) if windows else set()
        found["windows"] = [w for w in windows if w.index not in silent] if windows else None
        found["silent_windows"] = len(silent)
    return found


def gate(opts: PoolOptions, probes: dict[tuple[str, str], dict]) -> list[Skipped]:
    """Take out of ``probes`` (in place) the originals that must not go in; return them.

    ``--keep-quiet-files`` keeps the silent, near-silent and short ones with a warning;
    an original with non-finite samples is never kept (no spectrogram can be made of it).
    """
    gated = []
    for key in sorted(probes):
        audit = Audit.from_dict({**probes[key]["audit"], "fingerprint": ""})
        reason = gate_reason(audit, min_peak_dbfs=opts.min_peak_dbfs, min_duration=opts.min_duration)
        if reason is None:
            continue
        path = "/".join(key)
        if opts.keep_quiet_files and not audit.nonfinite_samples:
            log.warning(f"{path}: {reason}; kept (--keep-quiet-files)")
            continue
        gated.append(Skipped(path, reason, probes.pop(key)["audit"]))
    return gated


def find_duplicates(opts: PoolOptions, probes: dict[tuple[str, str], dict],
                    ) -> tuple[dict[str, str], list[list[str]]]:
    """Copies of one recording: within a class, those left out (unless ``--keep-duplicates``),
    taken out of ``probes`` in place; across classes, the groups of names, reported."""
    prints = {f"{c}/{rel}": Fingerprint.from_text(p["fingerprint"]) for (c, rel), p in probes.items()}
    plan = plan_duplicates(group_duplicates(prints), keep_duplicates=opts.keep_duplicates)
    for copy, kept in sorted(plan.duplicate_of.items()):
        log.warning(f"{copy}: the same recording as {kept}; left out (--keep-duplicates keeps it)")
        probes.pop(tuple(copy.split("/", 1)))
    for names in plan.cross_class:
        log.warning(f"one recording in {len({n.split('/', 1)[0] for n in names})} classes: "
                    f"{' = '.join(names)}; check its label")
    return dict(sorted(plan.duplicate_of.items())), plan.cross_class
