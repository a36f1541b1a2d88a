# Sourced by run_tests.sh and run_pipeline.sh: makes .venv from requirements-dev.txt
# when it is missing or stale, and sets VENV_PYTHON. Needs only python3 (3.11+).
VENV_DIR="${NIGHTSCAN_VENV:-.venv}"
VENV_PYTHON="$VENV_DIR/bin/python"
stamp="$VENV_DIR/.requirements.sha256"
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -x "$VENV_PYTHON" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setting up $VENV_DIR (first run only)..." >&2
    python3 -m venv "$VENV_DIR"
    "$VENV_PYTHON" -m pip install --quiet --upgrade pip >&2
    "$VENV_PYTHON" -m pip install --progress-bar on -r requirements-dev.txt >&2
    echo "$want" > "$stamp"
fi
export VENV_PYTHON
