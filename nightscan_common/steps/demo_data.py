"""The demo data set: a small, imbalanced, deterministic folder of synthetic night recordings.

It has the shape of real field data (one folder per class, 6 to 150 recordings,
recording nights as sub-folders, mixed sample rates, stereo files, long files, WAV and
FLAC, a recorder's CONFIG.TXT beside the audio), so that the three steps can be tried
on any machine without data of one's own. The folder is built beside its final place
and renamed into it at the end: an interrupted run leaves nothing under the final name.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import __version__
from ..dsp.synthetic import CALLS, write_recording
from ..errors import OutputConflictError, UsageError
from ..formats.demo_manifest import (
    FORMAT_VERSION,
    GENERATOR,
    MANIFEST_FILENAME,
    files_below,
    listed_files,
    read_manifest,
)
from ..formats.provenance import guard
from ..io.atomic_write import TEMP_SUFFIX, json_text
from ..io.folder_swap import install_folder, remove_stale_temporaries, umask
from ..seeds import derive_seed
from ..vocabulary import plain

DEFAULT_OUTPUT_DIR = Path("data/demo_audio")
DEFAULT_SEED = 42
DEFAULT_SCALE = 1.0
#: Recordings per class whatever the scale: enough for one group in each of train, val, test.
MIN_RECORDINGS = 3
MAX_SCALE = 10.0
LONG_SECONDS = 8.0  # the spectrogram window: longer recordings are cropped


@dataclass(frozen=True, kw_only=True)
class Variant:
    """How one recording is made: sample rate (Hz), channels, length range (s), container."""

    samplerate: int
    seconds: tuple[float, float]
    channels: int = 1
    ext: str = ".wav"
    subtype: str = "PCM_16"


@dataclass(frozen=True, kw_only=True)
class DemoClass:
    """One class: its call, its size at scale 1, and how its recordings vary.

    Recording ``i`` is made with ``variants[i % len(variants)]`` and goes into
    ``folders[i % len(folders)]`` ("" is the class folder itself), so that the first
    three recordings of a class already show its variety, whatever the scale.
    ``extra_files`` are written into each of the class's sub-folders, as recorders do.
    """

    name: str
    call: str
    count: int
    variants: tuple[Variant, ...]
    prefix: str
    folders: tuple[str, ...] = ("",)
    extra_files: tuple[tuple[str, str], ...] = ()


_AUDIOMOTH_CONFIG = ("CONFIG.TXT", "Device ID: 24F3190A5F3C1D2E\nSample rate (Hz): 48000\n"
                     "Gain: Medium\nSleep duration (s): 55\nRecording duration (s): 5\n")

DEMO_CLASSES: tuple[DemoClass, ...] = (
    DemoClass(name="airplane", call="drone", count=25, prefix="flyover", variants=(
        Variant(samplerate=32000, seconds=(9.0, 12.0), channels=2),
        Variant(samplerate=22050, seconds=(4.0, 7.0), ext=".flac"),
        Variant(samplerate=44100, seconds=(5.0, 8.0)))),
    DemoClass(name="asio_flammeus", call="hoots", count=6, prefix="asio",
              folders=("2024-03-14", "2024-03-15"), variants=(
                  Variant(samplerate=16000, seconds=(10.0, 12.0)),
                  Variant(samplerate=8000, seconds=(3.0, 6.0)),
                  Variant(samplerate=22050, seconds=(4.0, 7.0), ext=".flac"))),
    DemoClass(name="gryllus", call="clicks", count=40, prefix="AM",
              folders=("20240712", "20240713", "20240714"), extra_files=(_AUDIOMOTH_CONFIG,), variants=(
                  Variant(samplerate=48000, seconds=(2.0, 4.0), ext=".WAV"),
                  Variant(samplerate=44100, seconds=(2.0, 3.0), channels=2, ext=".flac"),
                  Variant(samplerate=48000, seconds=(8.5, 9.5), ext=".WAV", subtype="PCM_24"))),
    DemoClass(name="hyla", call="trills", count=12, prefix="hyla", variants=(
        Variant(samplerate=22050, seconds=(3.0, 6.0)),
        Variant(samplerate=16000, seconds=(2.0, 5.0), ext=".flac"),
        Variant(samplerate=44100, seconds=(9.0, 10.0), channels=2))),
    DemoClass(name="pipistrellus", call="sweeps", count=150, prefix="pip",
              folders=("night_01", "night_02", "night_03"), variants=(
                  Variant(samplerate=48000, seconds=(1.0, 1.5)),
                  Variant(samplerate=44100, seconds=(1.0, 2.0)),
                  Variant(samplerate=48000, seconds=(1.0, 1.5), channels=2, ext=".flac"))),
    DemoClass(name="rain", call="noise_bursts", count=20, prefix="rain", variants=(
        Variant(samplerate=44100, seconds=(9.0, 11.0), channels=2),
        Variant(samplerate=22050, seconds=(3.0, 6.0), ext=".flac"),
        Variant(samplerate=16000, seconds=(4.0, 6.0)))),
)


@dataclass(frozen=True, kw_only=True)
class Recording:
    """One planned file: ``path`` is relative to the output folder, "/"-separated."""

    path: str
    class_name: str
    call: str
    samplerate: int
    channels: int
    seconds: float
    subtype: str
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "samplerate": self.samplerate, "channels": self.channels,
                "seconds": self.seconds, "subtype": self.subtype}


@dataclass(frozen=True, kw_only=True)
class DemoReport:
    """What ``make_demo_data`` did, for the summary; ``manifest`` describes every file."""

    output_dir: Path
    manifest: dict[str, Any]
    written: bool  # False when the folder already held this very data set
    seconds: float = 0.0  # set by the front end

    @property
    def status(self) -> int:
        """Always 0: the data set is made whole, or the run fails."""
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {**plain(self), "status": self.status}


def check_scale(scale: float) -> float:
    """The size factor: above 0 and at most ``MAX_SCALE``."""
    if not 0 < scale <= MAX_SCALE:
        raise UsageError(f"--scale must be above 0 and at most {MAX_SCALE:g}, got {scale:g}")
    return scale


def class_size(demo_class: DemoClass, scale: float) -> int:
    """Recordings of a class at ``scale``: its count scaled, and never below ``MIN_RECORDINGS``."""
    return max(MIN_RECORDINGS, round(demo_class.count * scale))


def plan_demo(*, seed: int = DEFAULT_SEED, scale: float = DEFAULT_SCALE,
              classes: Iterable[DemoClass] = DEMO_CLASSES) -> list[Recording]:
    """Every recording of the data set, without writing anything (a pure function of the seed).

    Each recording's length and content come from a seed derived from (seed, class, number),
    so changing one class or the scale leaves the other recordings as they were.
    """
    check_scale(scale)
    plan = []
    for dc in classes:
        if dc.call not in CALLS:
            raise UsageError(f"class {dc.name}: unknown call {dc.call!r} (known: {', '.join(CALLS)})")
        for i in range(class_size(dc, scale)):
            variant = dc.variants[i % len(dc.variants)]
            folder = dc.folders[i % len(dc.folders)]
            rng = np.random.default_rng(derive_seed(seed, "demo-length", dc.name, i))
            seconds = round(float(rng.uniform(*variant.seconds)), 2)
            name = f"{dc.prefix}_{i + 1:03d}{variant.ext}"
            path = "/".join(p for p in (dc.name, folder, name) if p)
            plan.append(Recording(path=path, class_name=dc.name, call=dc.call, samplerate=variant.samplerate,
                                  channels=variant.channels,
                                  seconds=seconds, subtype=variant.subtype,
                                  seed=derive_seed(seed, "demo-call", dc.name, i)))
    return plan


def extra_files(*, scale: float = DEFAULT_SCALE,
                classes: Iterable[DemoClass] = DEMO_CLASSES) -> dict[str, str]:
    """The non-audio files (relative path -> text) that sit beside the recordings."""
    out = {}
    for dc in classes:
        used = {dc.folders[i % len(dc.folders)] for i in range(class_size(dc, scale))}
        for folder in sorted(f for f in used if f):
            for name, text in dc.extra_files:
                out[f"{dc.name}/{folder}/{name}"] = text
    return out


def build_manifest(plan: list[Recording], extras: dict[str, str], *, seed: int, scale: float,
                   sizes: dict[str, int]) -> dict[str, Any]:
    """The manifest's content: no date in it, so that one seed gives the same bytes."""
    classes: dict[str, Any] = {}
    for rec in plan:
        entry = classes.setdefault(rec.class_name, {"call": rec.call, "recordings": 0, "files": []})
        entry["recordings"] += 1
        entry["files"].append(rec.to_dict() | {"bytes": sizes[rec.path]})
    return {
        "generator": GENERATOR, "format_version": FORMAT_VERSION, "tool_version": __version__,
        "params": {"seed": seed, "scale": scale},
        "classes": classes,
        "other_files": {path: sizes[path] for path in sorted(extras)},
        "totals": {"classes": len(classes), "recordings": len(plan),
                   "bytes": sum(sizes.values())},
    }


def make_demo_data(output_dir: str | os.PathLike = DEFAULT_OUTPUT_DIR, *, seed: int = DEFAULT_SEED,
                   scale: float = DEFAULT_SCALE, overwrite: bool = False,
                   progress: bool = True) -> DemoReport:
    """Write the demo data set into ``output_dir``; return what is there.

    .. note:: The folder is written under a temporary name beside ``output_dir`` and
       renamed at the end. An existing ``output_dir`` is replaced only when it is empty,
       or a demo data set (it holds ``demo_manifest.json``) that is incomplete or, with
       ``overwrite``, made with other options. Any other folder is never touched.
    """
    check_scale(scale)
    out = Path(output_dir)
    params = {"seed": seed, "scale": scale}
    existing = _existing_state(out, params, overwrite=overwrite)
    if existing is not None:
        return DemoReport(output_dir=out, manifest=existing, written=False)
    plan = plan_demo(seed=seed, scale=scale)
    extras = extra_files(scale=scale)
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=TEMP_SUFFIX, dir=out.parent))
    try:
        os.chmod(tmp, 0o777 & ~umask())
        sizes = _write_files(tmp, plan, extras, progress=progress)
        manifest = build_manifest(plan, extras, seed=seed, scale=scale, sizes=sizes)
        text = json_text(manifest) + "\n"
        (tmp / MANIFEST_FILENAME).write_text(text, encoding="utf-8")
        install_folder(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return DemoReport(output_dir=out, manifest=manifest, written=True)


def _write_files(root: Path, plan: list[Recording], extras: dict[str, str], *,
                 progress: bool) -> dict[str, int]:
    """Write the recordings and extra files below ``root``; return every file's size."""
    sizes = {}
    for rec in tqdm(plan, desc="demo recordings", unit="file", disable=not progress, file=sys.stderr,
                    leave=False):
        path = root / rec.path
        write_recording(path, call=rec.call, seconds=rec.seconds, samplerate=rec.samplerate,
                        channels=rec.channels, subtype=rec.subtype, seed=rec.seed)
        sizes[rec.path] = path.stat().st_size
    for rel, text in extras.items():
        (root / rel).write_bytes(text.encode("utf-8"))
        sizes[rel] = len(text.encode("utf-8"))
    return sizes


def _existing_state(out: Path, params: dict[str, Any], *, overwrite: bool) -> dict[str, Any] | None:
    """The manifest of an ``out`` that already holds this data set; None when it must be written.

    Raises when ``out`` is something that must not be replaced.
    """
    if not out.exists():
        return None
    if not out.is_dir():
        raise UsageError(f"--output-dir {out} exists and is not a folder")
    if not any(out.iterdir()):
        return None
    manifest = read_manifest(out)
    if manifest is None:
        raise UsageError(f"{out} is not empty and is not a demo data set (no {MANIFEST_FILENAME}); "
                         "it is never overwritten: choose another --output-dir")
    expected = listed_files(manifest)
    on_disk = files_below(out)
    same_params = manifest.get("params") == params and manifest.get("format_version") == FORMAT_VERSION
    if same_params and on_disk == expected:
        return manifest
    unknown = sorted(set(on_disk) - set(expected))
    if overwrite or (same_params and not unknown):
        return None  # another data set, replaced on request; or this one, damaged: made again
    if not same_params:
        recorded = {**(manifest.get("params") or {}), "format_version": manifest.get("format_version")}
        guard(out, "a demo data set", recorded, {**params, "format_version": FORMAT_VERSION},
              option="--output-dir", overwrite=False)
    raise OutputConflictError(f"{out} holds a demo data set with files it does not list, e.g. "
                              f"{unknown[0]}; use --overwrite to replace it, or choose another --output-dir")
