#!/usr/bin/env bash
# The NightScan dataset pipeline: makes the virtual environment on first use, then runs
# pipeline.py (the three steps, every option checked first). ./run_pipeline.sh --help
# for the options; ./run_pipeline.sh --demo tries it on synthetic data.
set -euo pipefail
CALLER_DIR=$PWD
HERE=$(CDPATH='' cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd)
case ${NIGHTSCAN_VENV-} in
    "" | /*) ;;
    *) export NIGHTSCAN_VENV=$CALLER_DIR/$NIGHTSCAN_VENV ;;
esac
cd -- "$HERE"
source scripts/ensure_venv.sh
case $VENV_PYTHON in /*) ;; *) VENV_PYTHON=$HERE/$VENV_PYTHON ;; esac
cd -- "$CALLER_DIR"
exec "$VENV_PYTHON" "$HERE/pipeline.py" "$@"
