"""Seeds derived from a run's seed and a unit of work's identity, never from shared state."""

from __future__ import annotations

import hashlib


def derive_seed(*parts: object) -> int:
    """A 32-bit seed that depends only on ``parts`` (stable across runs and machines).

    ``hash()`` is salted per process, so a cryptographic digest of the parts' text is
    used instead; 32 bits, the width the pool's recorded seeds have always had.
    """
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")

