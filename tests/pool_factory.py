"""Tiny augmented pools for tests: files named as step 1 names them, and their metadata,
built through the format's own records (``FileRecord``, ``ClassEntry``, ``PoolMetadata``).

The files hold a few distinct bytes each, not audio: an original's content fingerprint
is recorded as one made from its bytes (copies share it, others differ in half their
bits), so that step 2 has nothing to decode.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from nightscan_common.dsp.augmentations import DEFAULT_AUGMENTATIONS
from nightscan_common.dsp.fingerprint import Fingerprint
from nightscan_common.formats.pool_metadata import (
    AUGMENTED,
    FORMAT_VERSION,
    METADATA_FILENAME,
    ORIGINAL,
    ClassEntry,
    FileRecord,
    PoolMetadata,
    augmented_filename,
    original_filename,
)


@cache
def fake_fingerprint(data: bytes) -> str:
    """A fingerprint drawn from a file's bytes: 16 random words, all active."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(data).digest()[:8], "little"))
    return Fingerprint(rng.integers(0, 2**32, 16, dtype=np.uint32), np.ones(16, dtype=bool)).to_text()


def write_pool(
    root: Path,
    groups: Mapping[str, Sequence[int]],
    *,
    sources: Mapping[str, Sequence[str]] | None = None,
    metadata: bool = True,
    file_lists: bool = True,
    record_sha: bool = True,
    contents: Mapping[tuple[str, str], bytes] | None = None,
) -> Path:
    """Write ``root/<class>/...`` with one original per entry of ``groups[class]``.

    ``groups[class][i]`` is how many files come from original ``i`` (itself included);
    its source is ``sources[class][i]`` or ``rec_<i>.wav``. An original's bytes are
    ``contents[(class, source)]`` when given (to make copies), else unique to it.
    ``metadata=False`` writes no ``pool_metadata.json``; ``file_lists=False`` writes one
    without file lists, as NightScan's earlier scripts did.
    """
    meta_classes = {}
    for cls, sizes in groups.items():
        folder = root / cls
        folder.mkdir(parents=True, exist_ok=True)
        names = sources[cls] if sources else [f"rec_{i:03d}.wav" for i in range(len(sizes))]
        files = []
        for source, size in zip(names, sizes, strict=True):
            stem, ext = os.path.splitext(os.path.basename(source))
            data = (contents or {}).get((cls, source), f"{cls}/{source}".encode())
            orig = original_filename(stem, ext)
            (folder / orig).write_bytes(data)
            files.append(FileRecord(filename=orig, type=ORIGINAL, source=source,
                                    sha256=hashlib.sha256(data).hexdigest() if record_sha else None,
                                    fingerprint=fake_fingerprint(data) if record_sha else None))
            for n in range(1, size):
                aug = DEFAULT_AUGMENTATIONS[(n - 1) % len(DEFAULT_AUGMENTATIONS)]
                name = augmented_filename(stem, n, aug)
                (folder / name).write_bytes(f"{cls}/{name}".encode())
                files.append(FileRecord(filename=name, type=AUGMENTED, source=source, augmentation=aug,
                                        params={}))
        most = max(sizes, default=1) - 1
        entry = ClassEntry(original_count=len(sizes), selected_originals=len(sizes),
                           augmentations_per_sample=most,
                           augmentations_per_original={"min": min(sizes, default=1) - 1, "max": most},
                           total_count=len(files), reached_target=False, short_by=500 - len(files),
                           files=files).to_dict()
        if not file_lists:  # as NightScan's earlier scripts wrote it
            del entry["files"]
        meta_classes[cls] = entry
    if metadata:
        meta = PoolMetadata(format_version=FORMAT_VERSION, created_at="2026-01-01T00:00:00+00:00",
                            tool_version="test", params={}, target_samples_per_class=500,
                            classes=meta_classes, skipped=[], totals={})
        (root / METADATA_FILENAME).write_text(json.dumps(meta.to_dict()), encoding="utf-8")
    return root
