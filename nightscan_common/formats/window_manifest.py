"""Step 3's window manifest, ``windows.json`` beside ``failures.json``: where each window was taken.

One entry per spectrogram key (``<split>/<class>/<stem>``), sorted::

    {"sample_rate": 22050, "crop": "loudest", "pad": "zero",
     "windows": {"train/owl/x_original": {"path": "owl/x_original.wav", "start_sample": 44100,
                 "start_seconds": 2.0, "length_samples": 661500, "native_samplerate": 44100,
                 "padded_samples": 0, "silent_padding_samples": 0}}}

Offsets are in samples at the spectrogram's sample rate. A rerun keeps the entries of
files it did not redo, so the manifest always covers the whole output.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..io.atomic_write import write_json
from ..io.bounded_json import load_json_if_valid

WINDOWS_FILENAME = "windows.json"
_REMEDY = f"remove it (step 3 writes {WINDOWS_FILENAME} anew) and rerun"


def read_windows(out_dir: Path, *, header: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The entries of an earlier manifest made with the same ``header``; else none."""
    data = load_json_if_valid(out_dir / WINDOWS_FILENAME, remedy=_REMEDY)
    if not isinstance(data, dict) or any(data.get(k) != v for k, v in header.items()):
        return {}
    windows = data.get("windows")
    return {k: v for k, v in windows.items() if isinstance(v, dict)} if isinstance(windows, dict) else {}


def write_windows(out_dir: Path, header: dict[str, Any], windows: dict[str, dict[str, Any]]) -> None:
    """Write the manifest sorted by key; a manifest that would not change is left as it is."""
    data = {**header, "windows": dict(sorted(windows.items()))}
    if load_json_if_valid(out_dir / WINDOWS_FILENAME, remedy=_REMEDY) == data:
        return
    write_json(out_dir / WINDOWS_FILENAME, data)


def drops_content(native_samplerate: int, *, sample_rate: int, fmax: float) -> bool:
    """Whether a recording loses content to the resampling: it is above the output rate and
    the band reaches the output's Nyquist frequency (see ``above_rate_warning``)."""
    return fmax >= sample_rate / 2 and native_samplerate > sample_rate


def above_rate_warning(windows: dict[str, dict[str, Any]], *, sample_rate: int, fmax: float,
                       preset: str | None) -> str | None:
    """What is lost in recordings made above the output rate when the band reaches Nyquist.

    A band that stops below Nyquist (general: 11 kHz of 11.025) was chosen to stop
    there; one that reaches it (bat: 96 kHz at 192 kHz) is cut by the rate, and calls
    above it (a 250 to 500 kHz recording's 96 to 125+ kHz) vanish without a word.
    """
    nyquist = sample_rate / 2
    above = sorted((e["native_samplerate"], e["path"]) for e in windows.values()
                   if drops_content(e.get("native_samplerate", 0), sample_rate=sample_rate, fmax=fmax))
    if not above:
        return None
    top, example = above[-1]
    name = f"the {preset} preset" if preset else "these settings"
    return (f"{len(above)} file(s) are recorded above {sample_rate} Hz (up to {top} Hz, e.g. {example}): "
            f"{name} resamples them to {sample_rate} Hz and drops everything from {nyquist:g} Hz to "
            f"{top / 2:g} Hz; raise --sample-rate and --fmax to keep it")
