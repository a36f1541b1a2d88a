"""A fixed corpus run through the three steps, and what they wrote, split as the promise across
machines splits it: what is decided (compared exactly) and what is measured (within tolerances)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from nightscan_common.dsp.fingerprint import Fingerprint
from nightscan_common.dsp.synthetic import write_recording

HASHES = Path(__file__).parent / "data" / "golden_hashes.json"  # the reference: decided and measured
COUNTS = {"bat": 5, "owl": 3}
CALLS = {"bat": "sweeps", "owl": "hoots"}
#: Index facts that change with the clock: the build time and the pool metadata's hash.
TIMESTAMPED = ("created_at", "pool_metadata_sha256")
#: Values of the pool metadata measured from audio in floating point: on another CPU type
#: they may differ in their last bits (and a rounded level by one step).
MEASURED_KEYS = frozenset({"noise_std", "peak_dbfs", "rms_dbfs", "clip_guard_db", "fingerprint"})
#: The promise's tolerances across CPU types (within one CPU type, the bytes are identical):
#: augmented audio within 2 steps of 16-bit PCM; spectrogram values within 0.01 (they are
#: standardised: units of the file's standard deviation); levels in dBFS within one step of
#: their rounding; noise_std within 1e-5 of itself; fingerprints within 2 % of their bits.
TOLERANCES = {"audio_steps": 2.0, "spectrogram": 0.01, "peak_dbfs": 0.01, "rms_dbfs": 0.01,
              "clip_guard_db": 0.01, "noise_std": 1e-5, "fingerprint_bit_error": 0.02}
#: Values kept per float output: taken evenly, and block statistics over the whole of it.
SAMPLES_KEPT, BLOCKS_KEPT = 128, 32


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


def _split_measured(node: Any, path: str, measured: dict[str, Any]) -> Any:
    """``node`` with every value under a ``MEASURED_KEYS`` key moved into ``measured`` (by path)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in MEASURED_KEYS:
                measured[f"{path}/{key}"] = value
                out[key] = "measured"
            else:
                out[key] = _split_measured(value, f"{path}/{key}", measured)
        return out
    if isinstance(node, list):
        return [_split_measured(v, f"{path}/{i}", measured) for i, v in enumerate(node)]
    return node


def _spread(values: np.ndarray, n: int) -> np.ndarray:
    """``n`` values taken evenly over a flat array (all of them when it has fewer)."""
    return values[np.linspace(0, len(values) - 1, min(n, len(values))).round().astype(int)]


def _block_stat(values: np.ndarray, n: int, stat) -> list[float]:
    return [float(stat(b)) for b in np.array_split(values, min(n, len(values)))]


def _audio_reference(path: Path) -> dict[str, Any]:
    samples, _ = sf.read(path, dtype="int16")
    return {"frames": len(samples), "samples": _spread(samples, SAMPLES_KEPT).tolist(),
            "block_rms": _block_stat(samples.astype(np.float64), BLOCKS_KEPT,
                                     lambda b: np.sqrt(np.mean(b ** 2)))}


def _spectrogram_reference(path: Path) -> dict[str, Any]:
    spec = np.load(path).astype(np.float64).ravel()
    return {"values": [round(float(v), 6) for v in _spread(spec, SAMPLES_KEPT)],
            "block_means": [round(v, 6) for v in _block_stat(spec, BLOCKS_KEPT, np.mean)]}


def _index_digests(db: Path) -> dict[str, str]:
    out = {}
    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1")]
        for t in tables:
            rows = [r for r in con.execute(f"SELECT * FROM {t} ORDER BY 1") if r[0] not in TIMESTAMPED]
            out[t] = _sha(repr(rows).encode())
    return out


def reference(base: Path) -> dict[str, dict]:
    """What the three steps wrote under ``base``, split as the cross-machine promise splits it.

    ``decided``: compared exactly (file names, the originals' bytes, the pool metadata less
    its measured values, the index rows, the spectrograms' shapes and types). ``measured``:
    the float outputs, compared within ``TOLERANCES`` (the metadata's measured values; per
    augmented file its frames, samples taken evenly and block RMS; per spectrogram its
    values taken evenly and block means).
    """
    pool, spec = base / "pool", base / "spec"
    decided: dict[str, Any] = {"originals": {}, "augmented": [], "spectrograms": {}}
    measured: dict[str, Any] = {"metadata": {}, "audio": {}, "spectrograms": {}}
    for p in sorted(pool.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        rel = p.relative_to(pool).as_posix()
        if p.name == "pool_metadata.json":
            meta = json.loads(p.read_text(encoding="utf-8"))
            meta.pop("created_at", None)
            meta = _split_measured(meta, "", measured["metadata"])
            decided["pool_metadata"] = _sha(json.dumps(meta, sort_keys=True).encode())
        elif p.suffix == ".json":
            continue  # the step's outcome record: its status and warnings, checked by its own tests
        elif "_original" in p.name:
            decided["originals"][rel] = _sha(p.read_bytes())
        else:
            decided["augmented"].append(rel)
            measured["audio"][rel] = _audio_reference(p)
    decided["index"] = _index_digests(base / "index.db")
    for p in sorted(spec.rglob("*.npy")):
        rel = p.relative_to(spec).as_posix()
        array = np.load(p, mmap_mode="r")
        decided["spectrograms"][rel] = [list(array.shape), str(array.dtype)]
        measured["spectrograms"][rel] = _spectrogram_reference(p)
    return {"decided": decided, "measured": measured}


def _close(name: str, got: Any, want: Any, atol: float) -> list[str]:
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return [f"{name}: {got.shape} values, the reference has {want.shape}"]
    worst = float(np.max(np.abs(got - want), initial=0.0))
    return [f"{name}: off by {worst:g}, more than {atol:g}"] if worst > atol else []


def _bit_error(got: str, want: str) -> float:
    """The fraction of differing bits of two fingerprints, word for word (1.0: not comparable)."""
    a, b = Fingerprint.from_text(got), Fingerprint.from_text(want)
    if len(a) != len(b):
        return 1.0
    both = a.active & b.active
    differing = int(np.bitwise_count(a.words[both] ^ b.words[both]).sum())
    return differing / (32 * int(both.sum())) if both.any() else float(not np.array_equal(a.active, b.active))


def _metadata_value(path: str, got: Any, want: Any) -> list[str]:
    key = path.rsplit("/", 1)[1]
    if key == "fingerprint":
        error, limit = _bit_error(got, want), TOLERANCES["fingerprint_bit_error"]
        return [f"metadata {path}: {error:.3f} of its bits differ, over {limit}"] if error > limit else []
    if got is None or want is None:
        return [] if got is want else [f"metadata {path}: {got!r}, the reference has {want!r}"]
    return _close(f"metadata {path}", got, want, TOLERANCES[key] * max(1.0, abs(want)) if key == "noise_std"
                  else TOLERANCES[key])


def broken_promises(got: dict, want: dict) -> list[str]:
    """What in ``got`` breaks the promise against the reference ``want``: [] when all holds."""
    problems = [f"decided {part} differs: {got['decided'].get(part)!r} != {value!r}"
                for part, value in want["decided"].items() if got["decided"].get(part) != value]
    gm, wm = got["measured"], want["measured"]
    if set(gm["metadata"]) != set(wm["metadata"]):
        problems.append("the metadata's measured values are not those of the reference")
    for path in sorted(set(gm["metadata"]) & set(wm["metadata"])):
        problems += _metadata_value(path, gm["metadata"][path], wm["metadata"][path])
    for name, ref in wm["audio"].items():
        audio = gm["audio"].get(name, {})
        if audio.get("frames") != ref["frames"]:
            problems.append(f"{name}: {audio.get('frames')} frames, the reference has {ref['frames']}")
            continue
        for part in ("samples", "block_rms"):
            problems += _close(f"{name} {part}", audio[part], ref[part], TOLERANCES["audio_steps"])
    for name, ref in wm["spectrograms"].items():
        spec = gm["spectrograms"].get(name, {"values": [], "block_means": []})
        problems += _close(f"{name} values", spec["values"], ref["values"], TOLERANCES["spectrogram"])
        problems += _close(f"{name} block means", spec["block_means"], ref["block_means"],
                           TOLERANCES["spectrogram"])
    return problems
