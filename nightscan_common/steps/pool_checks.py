"""Step 1's checks of the originals, from their one decode: the quality gate and content duplicates.

What goes in: an original that decodes, is not (near-)silent or too short
(``gate_reason``), and is not a copy of another original of its class
(``plan_duplicates``). One content under two classes is reported, not settled: only
the user knows which label is right. A background-noise file that is a copy of an
original (``noise_copies``, by fingerprint: a re-encoding too) is left out with the
original's name, as a noise folder inside the audio root is refused: mixed into other
samples, that recording would be in two places, maybe in two splits.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Any

from ..dsp.audit import Audit, fingerprint_file, gate_reason, probe_and_audit
from ..dsp.fingerprint import Fingerprint, group_duplicates
from ..errors import AudioFileError
from ..formats.source_cache import file_identity
from ..io.audio_segments import silent_windows
from ..io.noise_files import BadNoiseFile, NoiseFolderCheck
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


#: Marks the noise files' names among the originals' (no class folder name holds a NUL).
_NOISE = "\x00noise/"


def noise_copies(noise: NoiseFolderCheck, probes: dict[tuple[str, str], dict]) -> NoiseFolderCheck:
    """``noise`` with the files that are a recording of the audio root moved to ``bad``, each with
    the originals it copies."""
    prints = {f"{c}/{rel}": Fingerprint.from_text(p["fingerprint"])
              for (c, rel), p in probes.items() if p.get("fingerprint")}
    for rel in noise.usable:
        try:
            prints[_NOISE + rel] = Fingerprint.from_text(fingerprint_file(os.path.join(noise.folder, rel)))
        except AudioFileError:  # the check decoded it whole a moment ago; nothing to compare then
            continue
    copies: dict[str, list[str]] = {}
    for group in group_duplicates(prints):
        originals = [n for n in group if not n.startswith(_NOISE)]
        for name in group:
            if name.startswith(_NOISE) and originals:
                copies[name.removeprefix(_NOISE)] = originals
    if not copies:
        return noise
    bad = [BadNoiseFile(rel, f"the same recording as {', '.join(names[:3])} (an original of the audio "
                             "root): mixed into other samples it would be in the data set twice")
           for rel, names in sorted(copies.items())]
    return replace(noise, usable=tuple(r for r in noise.usable if r not in copies),
                   bad=tuple(sorted([*noise.bad, *bad], key=lambda b: b.path)))
