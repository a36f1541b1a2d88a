"""``labels.json``: one class -> index map for every split and every layout, from the whole index.

NightScan's loader numbers the classes of each split on its own (``GROUP BY class_name``
within the split), so a class missing from one split shifts the labels of the others
there. This map is made once from the classes of all splits, sorted by name, and every
layout records its ``class_index`` from it::

    {"class_to_index": {"bat": 0, "owl": 1, "rain": 2}, "format_version": 1}
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import UsageError
from ..io.atomic_write import write_bytes
from ..io.bounded_json import load_json_file

LABELS_FILENAME = "labels.json"
LABELS_FORMAT_VERSION = 1
_SHOWN = 5
#: The largest labels.json read: a million classes fit in 64 MB.
MAX_LABELS_BYTES = 64 << 20


def label_map(class_names: Iterable[str]) -> dict[str, int]:
    """Each distinct class name -> its position in name order (code point order)."""
    return {name: i for i, name in enumerate(sorted(set(class_names)))}


def labels_bytes(labels: Mapping[str, int]) -> bytes:
    """The file's bytes: strict JSON (no NaN), keys sorted, UTF-8, one trailing newline."""
    record = {"format_version": LABELS_FORMAT_VERSION, "class_to_index": dict(labels)}
    text = json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def labels_to_write(out_dir: str | os.PathLike, labels: Mapping[str, int], *, overwrite: bool) -> bool:
    """Whether ``labels.json`` must be (re)written: when absent, or when it numbers other
    classes than the index's (a class deleted, added or renamed).

    A changed set of classes is a rerun like any other: the map is rebuilt and every
    layout that records class indexes rebuilds its rows with it (``catalog.plan_digest``
    and the rows' own records carry them), as a fresh build would.
    """
    path = Path(out_dir) / LABELS_FILENAME
    if overwrite or not path.exists():
        return True
    try:
        return read_labels(out_dir) != dict(labels)
    except UsageError:
        return True


def write_labels(out_dir: str | os.PathLike, labels: Mapping[str, int]) -> None:
    """Write ``<out_dir>/labels.json`` atomically."""
    write_bytes(Path(out_dir) / LABELS_FILENAME, labels_bytes(labels))


def read_labels(out_dir: str | os.PathLike) -> dict[str, int]:
    """The class -> index map of ``<out_dir>/labels.json``; ``UsageError`` if absent or malformed."""
    path = Path(out_dir) / LABELS_FILENAME
    if not os.path.lexists(path):
        raise UsageError(f"{path} not found: step 3 writes it; rerun step 3 into {out_dir}")
    record = load_json_file(path, remedy=f"rerun step 3 into {out_dir}", max_bytes=MAX_LABELS_BYTES)
    labels = record.get("class_to_index") if isinstance(record, dict) else None
    if not isinstance(labels, dict) or labels != label_map(labels):
        raise UsageError(f"{path} holds no class_to_index map numbering the classes in name order")
    return labels


def check_labels_of_index(out_dir: str | os.PathLike, labels: Mapping[str, int], class_names: Iterable[str],
                          index_db: object) -> None:
    """``UsageError`` unless ``labels`` is the map step 3 makes from the index's classes.

    A map edited by hand (a class added shifts every index after it) or an index other
    than the one step 3 read would label the rows otherwise than step 3 did.
    """
    expected = label_map(class_names)
    if dict(labels) != expected:
        raise UsageError(f"{Path(out_dir) / LABELS_FILENAME} does not number the classes of {index_db} "
                         f"(the index against it: {_changes(labels, expected)}); "
                         "rerun step 3 with this index")


def _changes(old: Mapping[str, int] | None, new: Mapping[str, int]) -> str:
    if old is None:
        return "unreadable"
    added, gone = sorted(set(new) - set(old)), sorted(set(old) - set(new))
    parts = [f"{word} {', '.join(names[:_SHOWN])}{' ...' if len(names) > _SHOWN else ''}"
             for word, names in (("new classes", added), ("classes gone", gone)) if names]
    return "; ".join(parts) or "classes numbered otherwise"
