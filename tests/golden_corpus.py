"""A fixed corpus run through the three steps, and the digests of what they wrote."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from nightscan_common.dsp.synthetic import write_recording

HASHES = Path(__file__).parent / "data" / "golden_hashes.json"
COUNTS = {"bat": 5, "owl": 3}
CALLS = {"bat": "sweeps", "owl": "hoots"}
#: Index facts that change with the clock: the build time and the pool metadata's hash.
TIMESTAMPED = ("created_at", "pool_metadata_sha256")


def write_corpus(root: Path) -> Path:
    """Eight short recordings in two classes, the same bytes on every run."""
    for ci, (cls, n) in enumerate(sorted(COUNTS.items())):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            write_recording(root / cls / f"site{i % 2}_rec_{i:03d}.wav", call=CALLS[cls],
                            seconds=0.6, samplerate=16000, seed=ci * 100 + i)
    return root


def step_args(base: Path) -> dict[str, list[str]]:
    audio, pool, db, spec = base / "audio", base / "pool", base / "index.db", base / "spec"
    return {
        "pool": ["--audio-root", str(audio), "--output-dir", str(pool), "--target-samples", "6",
                 "--num-workers", "2", "--seed", "7"],
        "index": ["--pool-dir", str(pool), "--output-db", str(db), "--random-seed", "3"],
        "spec": ["--index-db", str(db), "--pool-root", str(pool), "--output-dir", str(spec),
                 "--num-workers", "2", "--animal-type", "bat"],
    }


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digests(base: Path) -> dict[str, dict[str, str]]:
    """Pool files (metadata less its timestamp), index rows (less the clock's), spectrogram files."""
    pool, spec = base / "pool", base / "spec"
    out: dict[str, dict[str, str]] = {"pool": {}, "index": {}, "spectrograms": {}}
    for p in sorted(pool.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rel = str(p.relative_to(pool))
        if p.name == "pool_metadata.json":
            meta = json.loads(p.read_text(encoding="utf-8"))
            meta.pop("created_at", None)
            out["pool"][rel] = _sha(json.dumps(meta, sort_keys=True).encode())
        else:
            out["pool"][rel] = _sha(p.read_bytes())
    with sqlite3.connect(base / "index.db") as con:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")]
        for t in tables:
            rows = [r for r in con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                    if r[0] not in TIMESTAMPED]
            out["index"][t] = _sha(repr(rows).encode())
    for p in sorted(spec.rglob("*.npy")):
        out["spectrograms"][str(p.relative_to(spec))] = _sha(p.read_bytes())
    return out
