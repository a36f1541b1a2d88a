#!/usr/bin/env bash
# Runs the test suite in the project's virtual environment (.venv), creating it from
# requirements-dev.txt when it is missing or when the requirements have changed.
# Extra arguments go to pytest, e.g. ./run_tests.sh -k pool_plan. The tests run in
# NIGHTSCAN_TEST_PROCESSES processes (pytest-xdist; default 2, the cores of the smallest
# machine the suite is timed on; 0 runs them all in one process).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure_venv.sh
exec "$VENV_PYTHON" -m pytest -n "${NIGHTSCAN_TEST_PROCESSES:-2}" "$@"
