"""The three steps on a fixed corpus keep the promise across machines: what is decided is
identical to the reference, the float outputs are within the stated tolerances of it, with
this machine's kernels and with others forced."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if __name__ == "__main__":  # run as a script: the toolkit lives at the root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from golden_corpus import HASHES, TOLERANCES, broken_promises, reference, step_args, write_corpus  # noqa: E402
from kernels import X86_64, forced_kernels  # noqa: E402

import create_augmented_pool  # noqa: E402
import create_balanced_index  # noqa: E402
import pregenerate_spectrograms_simple  # noqa: E402


def run_all(base: Path) -> dict:
    write_corpus(base / "audio")
    args = step_args(base)
    for main, key in ((create_augmented_pool.main, "pool"), (create_balanced_index.main, "index"),
                      (pregenerate_spectrograms_simple.main, "spec")):
        assert main(args[key] + ["--quiet"]) == 0, key
    return reference(base)


def _recorded() -> dict:
    return json.loads(HASHES.read_text(encoding="utf-8"))


def test_the_fixed_corpus_keeps_the_promise(tmp_path):
    assert broken_promises(run_all(tmp_path), _recorded()) == []


@pytest.mark.skipif(not X86_64, reason="forces x86-64 kernels")
def test_the_promise_holds_with_other_kernels_forced(tmp_path):
    """A subprocess with AVX2 kernels forced (numpy, OpenBLAS, numba) keeps the promise too."""
    env = dict(os.environ, **forced_kernels())  # numba caches the Haswell code beside the default
    done = subprocess.run([sys.executable, __file__, "check", str(tmp_path / "run")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stdout.splitlines()[-1].startswith("the promise holds with OPENBLAS_CORETYPE=Haswell")


def _perturbed(path: list, delta: float) -> dict:
    ref = copy.deepcopy(_recorded())
    node = ref
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] += delta
    return ref


def test_the_check_tells_a_broken_promise_from_a_kernel_difference():
    """Within tolerance passes; beyond it, or any change to what is decided, is named."""
    ref = _recorded()
    audio = sorted(ref["measured"]["audio"])[0]
    spec = sorted(ref["measured"]["spectrograms"])[0]
    within = _perturbed(["measured", "audio", audio, "samples", 5], TOLERANCES["audio_steps"])
    within["measured"]["spectrograms"][spec]["values"][3] += TOLERANCES["spectrogram"] / 2
    assert broken_promises(within, ref) == []
    beyond = _perturbed(["measured", "audio", audio, "samples", 5], TOLERANCES["audio_steps"] + 1)
    assert broken_promises(beyond, ref) == [f"{audio} samples: off by 3, more than 2"]
    beyond = _perturbed(["measured", "spectrograms", spec, "block_means", 0], 2 * TOLERANCES["spectrogram"])
    assert broken_promises(beyond, ref)[0].startswith(f"{spec} block means: off by 0.02")
    decided = copy.deepcopy(ref)
    decided["decided"]["augmented"] = decided["decided"]["augmented"][1:]
    assert broken_promises(decided, ref)[0].startswith("decided augmented differs: ")
    decided = _perturbed(["measured", "audio", audio, "frames"], 1)
    assert broken_promises(decided, ref)[0].startswith(f"{audio}: ")


if __name__ == "__main__":
    # record the reference:  python tests/test_golden.py record DIR
    # check against it:      python tests/test_golden.py check DIR
    command, base = sys.argv[1], Path(sys.argv[2])
    got = run_all(base)
    if command == "record":
        HASHES.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        sys.exit(0)
    problems = broken_promises(got, _recorded())
    kernels = " ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "NUMBA_CPU_NAME",
                                                          "NPY_DISABLE_CPU_FEATURES") if k in os.environ)
    print("\n".join(problems) if problems else f"the promise holds with {kernels or 'the default kernels'}")
    sys.exit(1 if problems else 0)
