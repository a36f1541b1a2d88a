#!/usr/bin/env bash
# Runs the test suite in the project's virtual environment (.venv), creating it from
# requirements-dev.txt when it is missing or when the requirements have changed.
# Extra arguments go to pytest, e.g. ./run_tests.sh -k pool_plan
set -euo pipefail
cd "$(dirname "$0")"
source scripts/ensure_venv.sh
exec "$VENV_PYTHON" -m pytest "$@"
