"""The environment that makes this x86-64 machine compute floats as another CPU type would."""

from __future__ import annotations

import platform

X86_64 = platform.machine().lower() in ("x86_64", "amd64")


def forced_kernels() -> dict[str, str]:
    """As an AVX2-only machine (Haswell): numpy's dispatch above X86_V3 disabled (those this
    machine has), OpenBLAS's and numba's kernels for Haswell."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    dispatch = list(__cpu_dispatch__)
    above = dispatch[dispatch.index("X86_V3") + 1:] if "X86_V3" in dispatch else []
    env = {"OPENBLAS_CORETYPE": "Haswell", "NUMBA_CPU_NAME": "haswell"}
    if disabled := [f for f in above if __cpu_features__.get(f)]:
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(disabled)
    return env


def baseline_kernels() -> dict[str, str]:
    """As the oldest x86-64 the builds support: every numpy dispatch target disabled, OpenBLAS's
    Prescott kernels, numba's generic CPU. Differs from any machine with AVX."""
    from numpy._core._multiarray_umath import __cpu_dispatch__

    env = {"OPENBLAS_CORETYPE": "Prescott", "NUMBA_CPU_NAME": "generic"}
    if __cpu_dispatch__:  # all of them: one this machine lacks is ignored
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(__cpu_dispatch__)
    return env
