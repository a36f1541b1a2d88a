"""Seeds derived from a run's seed and a unit of work's identity, never from shared state."""

from __future__ import annotations

import hashlib
import random

import numpy as np


def derive_seed(*parts: object) -> int:
    """A 32-bit seed that depends only on ``parts`` (stable across runs and machines).

    ``hash()`` is salted per process, so a cryptographic digest of the parts' text is
    used instead; 32 bits because ``np.random.seed`` takes nothing larger.
    """
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def seed_global_rngs(seed: int) -> None:
    """Seed Python's ``random`` and numpy's legacy global RNG.

    audiomentations draws its parameters from ``random`` and its noise from
    ``np.random``; call this right before each transform, in the worker.
    """
    random.seed(seed)
    np.random.seed(seed)
