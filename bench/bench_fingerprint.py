#!/usr/bin/env python3
"""Benchmark of content fingerprints: the cost per original beside its decode, and grouping at scale.

1. An 8 s clip at 44.1 kHz in WAV, FLAC, OGG and MP3: the best time of a bare decode
   (``soundfile.read`` to float32, what the writing phase does), of its decode with a
   resample to 22050 Hz (as step 3 decodes) and of step 1's check without the audit
   (``probe_audio``: the sha256 and a decode), against the fingerprint and the whole
   audit of the decoded samples, and step 1's check as it runs (``probe_and_audit``: one
   decode, the audit and the fingerprint from its blocks). The check's cost is given as
   a multiple of the bare decode (aim: at most ``CHECK_AIM``).
2. ``group_duplicates`` over N fingerprints of 8 s (250 words) with planted copies
   (8 % of bits flipped, shifted by up to 2 frames): its wall time, and whether it found
   every planted group and nothing else. Unrelated recordings are modelled by random
   words, which is what the bit error rate between them (about 0.5) says they look like.

    python bench/bench_fingerprint.py                  # 100,000 fingerprints
    python bench/bench_fingerprint.py --count 10000 --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nightscan_common.dsp.audit import audit_samples, probe_and_audit  # noqa: E402
from nightscan_common.dsp.fingerprint import Fingerprint, fingerprint, group_duplicates  # noqa: E402
from nightscan_common.dsp.synthetic import song  # noqa: E402
from nightscan_common.io.audio_io import probe_audio, resample  # noqa: E402

RATIO_AIM = 0.2
CHECK_AIM = 1.5
GROUP_AIM_S = 10.0
FORMATS = {"wav": {"subtype": "PCM_16"}, "flac": {}, "ogg": {}, "mp3": {"bitrate_mode": "CONSTANT",
                                                                        "compression_level": 0.5}}


def best_ms(funcs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """The best time of each function, called in turn ``repeat`` times (interleaved, so
    that a busy spell of the machine hits all alike)."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(repeat + 1):
        for name, func in funcs.items():
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    return {name: 1000 * min(t[1:]) for name, t in times.items()}


def cost_per_original(folder: Path, repeat: int) -> list[dict]:
    sr = 44100
    clip = song(8.0, sr, np.random.default_rng(0))
    rows = []
    for ext, options in FORMATS.items():
        path = folder / f"clip.{ext}"
        sf.write(path, clip, sr, **options)
        data, rate = sf.read(path, dtype="float32")

        def decode(path=path):
            samples, rate = sf.read(path, dtype="float32")
            return resample(samples, rate, 22050)

        rows.append({"format": ext, **best_ms({
            "bare_ms": lambda path=path: sf.read(path, dtype="float32"),
            "decode_ms": decode,
            "probe_ms": lambda path=path: probe_audio(path),
            "fingerprint_ms": lambda data=data, rate=rate: fingerprint(data, rate),
            "audit_ms": lambda data=data, rate=rate: audit_samples(data, rate),
            "checked_ms": lambda path=path: probe_and_audit(path),
        }, repeat)})
    return rows


def planted_fingerprints(count: int, groups: int, copies: int, seed: int = 0
                         ) -> tuple[dict[str, Fingerprint], list[list[str]]]:
    """``count`` fingerprints of which ``groups`` x ``copies`` are noisy copies of one another."""
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**32, (count, 250), dtype=np.uint32)
    active = np.ones(250, dtype=bool)
    fps = {f"r{i:06d}": Fingerprint(words[i], active) for i in range(count)}
    expected = []
    weights = np.uint32(1) << np.arange(32, dtype=np.uint32)
    for g in range(groups):
        base = words[g]
        members = [f"r{g:06d}"]
        for c in range(1, copies):
            flips = ((rng.random((250, 32)) < 0.08) * weights).sum(axis=1, dtype=np.uint32)
            shifted = np.roll(base ^ flips, int(rng.integers(-2, 3)))
            name = f"r{count - g * copies - c:06d}"  # overwrites an unrelated one
            fps[name] = Fingerprint(shifted, active)
            members.append(name)
        expected.append(sorted(members))
    return fps, sorted(expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="fingerprints to group")
    parser.add_argument("--repeat", type=int, default=15, help="timings per figure (the best counts)")
    parser.add_argument("--checks-only", action="store_true", help="the cost per original only, no grouping")
    args = parser.parse_args(argv)
    threadpool_limits(1)  # as in the pipeline's workers: BLAS threads would fight over the cores
    with tempfile.TemporaryDirectory() as tmp:
        rows = cost_per_original(Path(tmp), args.repeat)
    print("8 s at 44.1 kHz   bare decode  decode+resample  probe   fingerprint  audit   probe+audit"
          "   fingerprint/decode  probe+audit/probe  check/bare decode")
    for r in rows:
        print(f"{r['format']:<17} {r['bare_ms']:8.2f} ms {r['decode_ms']:9.2f} ms {r['probe_ms']:6.2f} ms"
              f" {r['fingerprint_ms']:8.2f} ms {r['audit_ms']:6.2f} ms {r['checked_ms']:8.2f} ms"
              f" {r['fingerprint_ms'] / r['decode_ms']:12.2f}"
              f" {r['checked_ms'] / r['probe_ms']:18.2f} {r['checked_ms'] / r['bare_ms']:14.2f}"
              f" (aim <= {CHECK_AIM:g})")
    if args.checks_only:
        return 0
    fps, expected = planted_fingerprints(args.count, groups=max(1, args.count // 100), copies=3)
    start = time.perf_counter()
    found = group_duplicates(fps)
    elapsed = time.perf_counter() - start
    ok = found == expected
    print(f"group_duplicates: {len(fps):,} fingerprints in {elapsed:.2f} s (aim < {GROUP_AIM_S:g} s); "
          f"{len(expected)} planted groups, found {len(found)}, {'exactly' if ok else 'NOT exactly'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
