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
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..dsp.audit import Audit, fingerprint_file, gate_reason, probe_and_audit
from ..dsp.fingerprint import N_FFT, SAMPLERATE, Fingerprint, fingerprint, group_duplicates
from ..dsp.noise_files import BadNoiseFile, NoiseFolderCheck
from ..errors import AudioFileError
from ..formats.source_cache import file_identity
from ..io.audio_segments import silent_windows
from ..plans.content_groups import plan_duplicates
from ..plans.segments import window_offsets
from ..vocabulary import Window
from .pool_options import PoolOptions, Skipped

log = logging.getLogger("nightscan")


#: What an original's check records in ``.pool_sources.json`` (its identity apart; windows
#: are found anew each run).
_CACHED = ("frames", "samplerate", "channels", "sha256", "peak", "fingerprint", "audit")


@dataclass(frozen=True, kw_only=True)
class ProbedOriginal:
    """What step 1's check found of one original, from its one decode or as recorded for a
    file unchanged since.

    ``identity`` is the file's [size, mtime_ns, inode] taken before the read; ``audit``
    the audit's fields but its fingerprint (``fingerprint``, the text). With
    ``--segment``: ``windows`` are those that hold sound (None when the recording fits in
    one segment, empty when every window is digital silence) and ``silent_windows`` how
    many were left out.
    """

    frames: int
    samplerate: int
    channels: int
    sha256: str
    peak: float
    identity: tuple[int, ...]
    fingerprint: str
    audit: Mapping[str, Any]
    windows: tuple[Window, ...] | None = None
    silent_windows: int = 0

    def cache_entry(self) -> dict[str, Any]:
        """The check as ``.pool_sources.json`` keeps it: the identity apart, the windows left out."""
        return {"identity": list(self.identity), "probe": {k: getattr(self, k) for k in _CACHED}}

    @classmethod
    def from_cache(cls, identity: list[int], probe: Mapping[str, Any]) -> ProbedOriginal | None:
        """The record of a recorded check; None for one made before the audit and fingerprint."""
        if any(k not in probe for k in _CACHED):
            return None
        return cls(identity=tuple(identity), **{k: probe[k] for k in _CACHED})


def warm_up_check() -> None:
    """In the parent, before the check's workers fork: the fingerprint's libraries imported and
    its mel filters made once, for every worker to inherit."""
    fingerprint(np.zeros(2 * N_FFT, dtype=np.float32), 2 * SAMPLERATE)


def probe_original(path: str, segment: float | None = None, hop: float | None = None) -> ProbedOriginal:
    """Runs in a worker: decode one original once; what it holds, its audit, its fingerprint;
    with ``segment``, its windows, digital silence left out."""
    identity = file_identity(path)  # before the read: a change during it shows next time
    probe, audit = probe_and_audit(path)
    record = audit.to_dict()
    cut: dict[str, Any] = {}
    if segment is not None:
        windows = window_offsets(probe.frames, probe.samplerate, segment=segment, hop=hop)
        silent = silent_windows(path, windows) if windows else set()
        cut = {"windows": tuple(w for w in windows if w.index not in silent) if windows else None,
               "silent_windows": len(silent)}
    return ProbedOriginal(frames=probe.frames, samplerate=probe.samplerate, channels=probe.channels,
                          sha256=probe.sha256, peak=probe.peak, identity=tuple(identity),
                          fingerprint=record.pop("fingerprint"), audit=record, **cut)


Probes = Mapping[tuple[str, str], ProbedOriginal]


def gate(opts: PoolOptions, probes: Probes) -> tuple[dict[tuple[str, str], ProbedOriginal], list[Skipped]]:
    """The originals that may go in, and those that must not (with why and their audit).

    ``--keep-quiet-files`` keeps the silent, near-silent and short ones with a warning;
    an original with non-finite samples is never kept (no spectrogram can be made of it).
    """
    kept, gated = {}, []
    for key in sorted(probes):
        audit = Audit.from_dict({**probes[key].audit, "fingerprint": ""})
        reason = gate_reason(audit, min_peak_dbfs=opts.min_peak_dbfs, min_duration=opts.min_duration)
        path = "/".join(key)
        if reason is not None and opts.keep_quiet_files and not audit.nonfinite_samples:
            log.warning(f"{path}: {reason}; kept (--keep-quiet-files)")
        elif reason is not None:
            gated.append(Skipped(path, reason, dict(probes[key].audit)))
            continue
        kept[key] = probes[key]
    return kept, gated


def find_duplicates(opts: PoolOptions, probes: Probes,
                    ) -> tuple[dict[tuple[str, str], ProbedOriginal], dict[str, str], list[list[str]]]:
    """Copies of one recording: the originals left in, the copies within a class left out (copy
    -> the one kept; none with ``--keep-duplicates``), and across classes the groups of names."""
    prints = {f"{c}/{rel}": Fingerprint.from_text(p.fingerprint) for (c, rel), p in probes.items()}
    plan = plan_duplicates(group_duplicates(prints), keep_duplicates=opts.keep_duplicates)
    for copy, kept in sorted(plan.duplicate_of.items()):
        log.warning(f"{copy}: the same recording as {kept}; left out (--keep-duplicates keeps it)")
    for names in plan.cross_class:
        log.warning(f"one recording in {len({n.split('/', 1)[0] for n in names})} classes: "
                    f"{' = '.join(names)}; check its label")
    left = {k: p for k, p in probes.items() if "/".join(k) not in plan.duplicate_of}
    return left, dict(sorted(plan.duplicate_of.items())), plan.cross_class


#: Marks the noise files' names among the originals' (no class folder name holds a NUL).
_NOISE = "\x00noise/"


def noise_copies(noise: NoiseFolderCheck, probes: Mapping[tuple[str, str], ProbedOriginal],
                 ) -> NoiseFolderCheck:
    """``noise`` with the files that are a recording of the audio root moved to ``bad``, each with
    the originals it copies."""
    prints = {f"{c}/{rel}": Fingerprint.from_text(p.fingerprint)
              for (c, rel), p in probes.items() if p.fingerprint}
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
