"""Step 1's worker: a file's augmentation depends on its seed only, whatever else the process draws."""

from __future__ import annotations

import random
import sys
import threading
from contextlib import contextmanager

import numpy as np
import pytest
from pool_helpers import metadata, run_pool, tree_digest, without_timestamps

from nightscan_common.dsp.augmentations import AUGMENTATION_TYPES
from nightscan_common.dsp.synthetic import write_recording
from nightscan_common.execution.serial import SerialExecutor

#: Every type, by an animal type that allows it (air absorption wants a preset of 32 kHz
#: or more, pitch_shift one that may shift pitch).
CASES = {
    "general": tuple(n for n in AUGMENTATION_TYPES if n != "air_absorption"),
    "bat": ("air_absorption", "combined", "noise", "color_noise"),
}


@contextmanager
def global_rngs_churning():
    """Another thread draws from ``random`` and ``np.random`` in a tight loop, switching often."""
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            random.random()
            np.random.random()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)


def _noise_folders(tmp_path):
    write_recording(tmp_path / "bg" / "rain.wav", call="noise_bursts", seconds=2.0, samplerate=16000,
                    seed=101)  # its own noise floor: seed 0 would be rec_000's, a copy to the noise check
    write_recording(tmp_path / "short" / "drop.wav", call="clicks", seconds=0.2, samplerate=16000)
    return {"background_noise_dir": tmp_path / "bg", "short_noise_dir": tmp_path / "short"}


@pytest.mark.parametrize("animal", list(CASES))
def test_a_thread_drawing_from_the_global_rngs_changes_no_byte(animal, make_audio_root, tmp_path):
    types = CASES[animal]
    root = make_audio_root({"owl": 3}, seconds=1.0)
    opts = dict(target_samples=3 + len(types), augmentations=types, animal_type=animal, seed=5,
                executor=SerialExecutor(), **_noise_folders(tmp_path))
    run_pool(root, tmp_path / "quiet", **opts)
    with global_rngs_churning():
        run_pool(root, tmp_path / "busy", **opts)
    made = {f["augmentation"] for f in metadata(tmp_path / "quiet")["classes"]["owl"]["files"]
            if f["type"] == "augmented"}
    assert made == set(types)
    assert tree_digest(tmp_path / "busy", skip=("pool_metadata.json",)) == \
        tree_digest(tmp_path / "quiet", skip=("pool_metadata.json",))
    assert without_timestamps(metadata(tmp_path / "busy")) == without_timestamps(metadata(tmp_path / "quiet"))
