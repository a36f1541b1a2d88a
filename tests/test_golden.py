"""The three steps on a fixed corpus write the bytes recorded before the restructuring."""

from __future__ import annotations

import json
import sys

from golden_corpus import HASHES, digests, step_args, write_corpus

import create_augmented_pool
import create_balanced_index
import pregenerate_spectrograms_simple


def run_all(base) -> dict:
    write_corpus(base / "audio")
    args = step_args(base)
    for main, key in ((create_augmented_pool.main, "pool"), (create_balanced_index.main, "index"),
                      (pregenerate_spectrograms_simple.main, "spec")):
        assert main(args[key] + ["--quiet"]) == 0, key
    return digests(base)


def test_the_fixed_corpus_gives_the_recorded_bytes(tmp_path):
    got = run_all(tmp_path)
    assert got == json.loads(HASHES.read_text(encoding="utf-8"))


if __name__ == "__main__":  # record the reference: PYTHONPATH=.:tests python tests/test_golden.py DIR
    from pathlib import Path

    HASHES.write_text(json.dumps(run_all(Path(sys.argv[1])), indent=1, sort_keys=True) + "\n",
                      encoding="utf-8")
