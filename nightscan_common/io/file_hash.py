"""The sha256 of a file's bytes: the identity every record keeps of what it read or wrote."""

from __future__ import annotations

import hashlib
import os

_HASH_CHUNK = 1 << 20


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes, read in chunks (flat memory for long recordings)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
