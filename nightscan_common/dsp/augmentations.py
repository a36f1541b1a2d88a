"""The pool's augmentation types: one registry entry each (``AUGMENTATION_TYPES``), and their
application to a file with the task's own random generator (``apply_augmentation``).

An entry holds everything the toolkit knows of a type: its steps (``augmentation_steps``:
how each transform is built, what it draws, how it runs, what it records, whether it runs
numba, which noise folder it reads), its memory per frame for ``--max-memory``, and
whether it is a default. No global random state is read: see ``augmentation_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NoiseFileError, UsageError
from .animals import ANIMAL_RANGES, DEFAULT_ANIMAL
from .augmentation_steps import (
    AIR,
    AIR_DISTANCE_M,
    AIR_MIN_SAMPLE_RATE,
    BACKGROUND,
    BACKGROUND_OPTION,
    BACKGROUND_SNR_DB,
    COLOR_NOISE,
    COLOR_NOISE_DECAY_DB,
    COLOR_NOISE_SNR_DB,
    COMBINED_GAIN_DB,
    COMBINED_RATE,
    COMBINED_SNR_DB,
    GAIN,
    GAIN_WIDE,
    LIGHT_GAIN,
    LIGHT_NOISE,
    LIGHT_STRETCH,
    NOISE,
    NOISE_SNR_DB,
    PITCH,
    PITCH_SEMITONES,
    SHIFT,
    SHIFT_FRACTION,
    SHORT_NOISE_GAP_S,
    SHORT_NOISE_OPTION,
    SHORT_NOISE_SNR_DB,
    SHORT_NOISES,
    STRETCH,
    TIME_STRETCH_RATE,
    VOLUME_GAIN_DB,
    WIDE_GAIN_DB,
    Step,
    audiomentations_lib,
    rel_path,
)


def parse_augmentation_list(text: str) -> tuple[str, ...]:
    """``"noise, volume"`` -> ``("noise", "volume")``; ``UsageError`` names an unknown type."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise UsageError("--augmentations is empty; give one or more of " + ", ".join(AUGMENTATION_TYPES))
    for name in names:
        if name not in AUGMENTATION_TYPES:
            raise UsageError(f"unknown augmentation {name!r}; choose from " + ", ".join(AUGMENTATION_TYPES))
    if len(set(names)) != len(names):
        raise UsageError(f"--augmentations names a type twice: {text!r}")
    return names


@dataclass(frozen=True, kw_only=True)
class AugmentationType:
    """One name of ``--augmentations``, and everything the toolkit knows of it.

    ``steps`` are applied in order (what each draws, applies and records is on the step);
    ``bytes_per_frame`` is its peak memory per frame of the original, which ``--max-memory``
    budgets: measured (``bench/bench_augmentation_memory.py``, a mono 48 kHz clip:
    ``time_stretch`` 52, ``combined`` 53, ``pitch_shift`` 54, ``air_absorption`` 86,
    ``color_noise`` 43, ``noise`` 12, ``short_noises`` 9, ``background_noise`` 8, the gains
    and ``shift`` 4) with room for a rate of 0.8 (a longer result) and a stereo decode;
    ``default`` puts it in the default ``--augmentations``.
    """

    name: str
    summary: str
    steps: tuple[Step, ...]
    bytes_per_frame: int
    default: bool = False

    @property
    def needs_numba(self) -> bool:
        """It runs librosa's numba-compiled code (warmed up before workers fork)."""
        return any(step.numba for step in self.steps)

    @property
    def folder_option(self) -> str | None:
        """The option naming the folder of noise recordings it reads, if any."""
        return next((step.folder for step in self.steps if step.folder), None)


def register(kind: AugmentationType) -> AugmentationType:
    """Add a type to ``AUGMENTATION_TYPES`` (the one place that lists them); returns it."""
    if kind.name in AUGMENTATION_TYPES:
        raise ValueError(f"augmentation type {kind.name!r} is registered already")
    AUGMENTATION_TYPES[kind.name] = kind
    return kind


AUGMENTATION_TYPES: dict[str, AugmentationType] = {}
for _kind in (
    AugmentationType(name="time_stretch", summary=f"TimeStretch, rate {TIME_STRETCH_RATE[0]} to "
                     f"{TIME_STRETCH_RATE[1]}, pitch kept, length not kept", steps=(STRETCH,),
                     bytes_per_frame=64, default=True),
    AugmentationType(name="noise", summary=f"AddGaussianSNR, SNR {NOISE_SNR_DB[0]:g} to "
                     f"{NOISE_SNR_DB[1]:g} dB", steps=(NOISE,), bytes_per_frame=24, default=True),
    AugmentationType(name="volume", summary=f"Gain, {VOLUME_GAIN_DB[0]:g} to {VOLUME_GAIN_DB[1]:g} dB",
                     steps=(GAIN,), bytes_per_frame=16, default=True),
    AugmentationType(name="combined", summary=f"TimeStretch {COMBINED_RATE[0]} to {COMBINED_RATE[1]}, then "
                     f"AddGaussianSNR {COMBINED_SNR_DB[0]:g} to {COMBINED_SNR_DB[1]:g} dB, then Gain "
                     f"{COMBINED_GAIN_DB[0]:g} to {COMBINED_GAIN_DB[1]:g} dB",
                     steps=(LIGHT_STRETCH, LIGHT_NOISE, LIGHT_GAIN), bytes_per_frame=64, default=True),
    AugmentationType(name="pitch_shift", summary=f"PitchShift, {PITCH_SEMITONES[0]:g} to "
                     f"{PITCH_SEMITONES[1]:g} semitones", steps=(PITCH,), bytes_per_frame=80),
    AugmentationType(name="shift", summary=f"Shift in time with rollover, {SHIFT_FRACTION[0]:g} to "
                     f"{SHIFT_FRACTION[1]:g} of the length", steps=(SHIFT,), bytes_per_frame=16),
    AugmentationType(name="background_noise", summary="AddBackgroundNoise from --background-noise-dir or "
                     f"--background-noise-class, SNR {BACKGROUND_SNR_DB[0]:g} to {BACKGROUND_SNR_DB[1]:g} dB",
                     steps=(BACKGROUND,), bytes_per_frame=32),
    AugmentationType(name="color_noise", summary=f"AddColorNoise, SNR {COLOR_NOISE_SNR_DB[0]:g} to "
                     f"{COLOR_NOISE_SNR_DB[1]:g} dB, slope {COLOR_NOISE_DECAY_DB[0]:g} to "
                     f"{COLOR_NOISE_DECAY_DB[1]:+g} dB per octave", steps=(COLOR_NOISE,), bytes_per_frame=72),
    AugmentationType(name="short_noises", summary="AddShortNoises from --short-noise-dir (rain drops, insect "
                     f"bursts, a plane), SNR {SHORT_NOISE_SNR_DB[0]:g} to {SHORT_NOISE_SNR_DB[1]:g} dB, "
                     f"every {SHORT_NOISE_GAP_S[0]:g} to {SHORT_NOISE_GAP_S[1]:g} s", steps=(SHORT_NOISES,),
                     bytes_per_frame=32),
    AugmentationType(name="gain_wide", summary=f"Gain, {WIDE_GAIN_DB[0]:g} to {WIDE_GAIN_DB[1]:+g} dB "
                     "(BirdSet's range)", steps=(GAIN_WIDE,), bytes_per_frame=16),
    AugmentationType(name="air_absorption", summary=f"AirAbsorption, a source {AIR_DISTANCE_M[0]:g} to "
                     f"{AIR_DISTANCE_M[1]:g} m away (animal types of {AIR_MIN_SAMPLE_RATE // 1000} kHz and "
                     "more)", steps=(AIR,), bytes_per_frame=128),
):
    register(_kind)


def default_augmentations() -> tuple[str, ...]:
    """The types of the default ``--augmentations``, in registry order."""
    return tuple(n for n, t in AUGMENTATION_TYPES.items() if t.default)


DEFAULT_AUGMENTATIONS: tuple[str, ...] = default_augmentations()


def noise_folder_options() -> dict[str, str]:
    """Type -> the option naming the noise folder it reads, for the types that read one."""
    return {n: t.folder_option for n, t in AUGMENTATION_TYPES.items() if t.folder_option}


#: Types that read a folder of noise recordings, and the option that names it.
NOISE_FOLDER_OPTION = noise_folder_options()


def augmentation_table_markdown() -> str:
    """docs/step1-pool.md's table of augmentation types, made from ``AUGMENTATION_TYPES``."""
    lines = ["| type | what it does | default | reads | numba | memory per frame |",
             "|---|---|---|---|---|---|"]
    for t in AUGMENTATION_TYPES.values():
        lines.append(f"| `{t.name}` | {t.summary} | {'yes' if t.default else 'opt-in'} | "
                     f"{t.folder_option or '-'} | {'yes' if t.needs_numba else 'no'} | "
                     f"{t.bytes_per_frame} B |")
    return "\n".join(lines)


@cache
def _transform(step: Step, animal: str, noise_dir: str | None, noise_files: tuple[str, ...] = ()) -> Any:
    """One transform object per step, animal type and worker (noise folders scanned once).

    ``noise_files`` (relative to ``noise_dir``), when given, are the only background noise
    files drawn from: those that passed the up-front check, whatever their extension.
    Shared between a worker's threads: ``_private`` copies it before parameters are set.
    """
    transform = step.build(ANIMAL_RANGES[animal], noise_dir)
    if step is BACKGROUND and noise_files:
        transform.sound_file_paths = [Path(noise_dir, *rel.split("/")) for rel in noise_files]
    return transform


def _private(transform: Any) -> Any:
    """A shallow copy of a shared transform with parameters of its own (caches stay shared)."""
    copy = object.__new__(type(transform))
    copy.__dict__.update(transform.__dict__)
    copy.parameters = {"should_apply": True}
    return copy


def _record(step: Step, params: dict[str, Any], before: np.ndarray, sr: int,
            noise_root: str | None) -> dict[str, Any]:
    """The parameters one step applied, in the units the metadata records.

    Noise files are recorded relative to ``noise_root`` (the noise folder, or the audio
    root for ``--background-noise-class``).
    """
    if step.relative_noise and not np.any(before):
        return {"no_effect": "the input is silent: noise relative to its level is none"}
    return step.record(params, before, sr, noise_root)


def apply_augmentation(name: str, samples: np.ndarray, samplerate: int, *, seed: int,
                       animal: str = DEFAULT_ANIMAL, background_dir: str | None = None,
                       short_noise_dir: str | None = None, noise_root: str | None = None,
                       background_files: tuple[str, ...] = ()) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply augmentation type ``name`` to a mono float32 signal, reproducibly.

    Every random choice comes from one ``numpy.random.Generator`` made from ``seed`` and
    owned by this call: no global generator is read, so other threads of the process
    cannot change the result. Returns ``(augmented, params)``; ``params`` holds what each
    transform drew, merged (``rate``, ``gain_db``, ``snr_db``...). The output length
    differs from the input's for the stretches. ``animal`` picks the stretch and pitch
    ranges (``ANIMAL_RANGES``); ``background_dir`` may also be one file (the noise
    recording chosen for this original); ``noise_root`` is what recorded background
    noise files are relative to (default: ``background_dir``).
    """
    rng = np.random.default_rng(seed)
    params: dict[str, Any] = {}
    out = samples
    folders = {BACKGROUND_OPTION: background_dir, SHORT_NOISE_OPTION: short_noise_dir}
    for step in AUGMENTATION_TYPES[name].steps:
        folder = folders[step.folder] if step.folder else None
        if step.folder and not folder:
            raise UsageError(f"{name} needs {step.folder}")
        files = tuple(background_files) if step is BACKGROUND and noise_root is None else ()
        transform = _private(_transform(step, animal, folder, files))
        before = out
        root = (noise_root or folder) if step is BACKGROUND else folder
        try:
            step.draw(transform, rng, before, samplerate)
            out = step.apply(transform, before, samplerate, rng)
        except Exception as exc:
            noise_file = transform.parameters.get("noise_file_path") if step is BACKGROUND else None
            if noise_file is None:
                raise
            raise NoiseFileError(f"noise file {rel_path(str(noise_file), root)} of --background-noise-dir "
                                 f"failed: {type(exc).__name__}: {exc}") from None
        params.update(_record(step, transform.parameters, before, samplerate, root))
    return np.asarray(out, dtype=np.float32), params


def warm_up(names: tuple[str, ...], animal: str = DEFAULT_ANIMAL) -> None:
    """Compile librosa's numba functions once, in the parent, before workers fork.

    Concurrent first compilations in workers can crash on numba's cache, and each
    would pay seconds; forked workers inherit the compiled code, and the import of
    audiomentations made here. Each numba step of the ``names`` runs once on a tiny signal;
    nothing is done when ``names`` is empty.
    """
    if names:
        audiomentations_lib()
    tiny = np.zeros(4096, dtype=np.float32)
    steps = {step.name: step for n in names for step in AUGMENTATION_TYPES[n].steps if step.numba}
    for step in steps.values():
        transform = _private(_transform(step, animal, None))
        step.draw(transform, np.random.default_rng(0), tiny, 16000)
        step.apply(transform, tiny, 16000, np.random.default_rng(0))
