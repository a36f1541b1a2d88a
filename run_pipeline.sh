#!/usr/bin/env bash
# The NightScan dataset pipeline: the three steps in order, then the training command line.
# Run ./run_pipeline.sh --help for the options; ./run_pipeline.sh --demo tries it on
# synthetic data.
set -euo pipefail

PROG=run_pipeline.sh

usage() {
    cat <<'EOF'
usage: ./run_pipeline.sh --audio-root DIR [options]
       ./run_pipeline.sh --demo [options]

Runs the three steps of the NightScan dataset toolkit, each on the previous one's
output, then prints where everything is and the train_audio_large_scale.py command:
  1. create_augmented_pool.py            -> DATA_DIR/augmented_pool/
  2. create_balanced_index.py            -> DATA_DIR/balanced_audio_index.db
  3. pregenerate_spectrograms_simple.py  -> DATA_DIR/spectrograms_balanced/
  then make_report.py                    -> DATA_DIR/report/report.html (its path is printed)
Every option of every step is checked before the first step starts.

options (or the environment variable on the right; an option wins over its variable):
  --audio-root DIR     AUDIO_ROOT      one sub-folder of recordings per class
                                       (required, except with --demo)
  --data-dir DIR       DATA_DIR        where the three outputs go (default: data/ in the
                                       project folder; data/demo/ with --demo)
  --target-samples N   TARGET_SAMPLES  samples per class, made by step 1 (default: 500;
                                       60 with --demo)
  --num-workers W      NUM_WORKERS     worker processes of steps 1 and 3 (default: all cores)
  --seed S             SEED            seed of steps 1 and 2 (default: 42)
  --animal-type TYPE   ANIMAL_TYPE     spectrogram preset of step 3: general, bat, owl,
                                       bird_song, mammal, amphibian, insect (default: general)
  --group-pattern RE   GROUP_PATTERN   step 2: originals whose source path gives the same
                                       key stay in one split (e.g. one night's recordings)
  --overwrite                          outputs made with other options are replaced instead
                                       of refused (each step's --overwrite: step 1 keeps a
                                       pool made with these options, step 3 starts afresh)
  --demo                               first write the synthetic demo data set into
                                       DATA_DIR/demo_audio (make_demo_data.py), then run the
                                       pipeline on it; AUDIO_ROOT is ignored
  -q, --quiet                          no progress bars
  -h, --help                           this help
environment only:
  STEP1_OPTIONS, STEP2_OPTIONS, STEP3_OPTIONS
                       more options for one step, split at white space,
                       e.g. STEP3_OPTIONS="--channels 3 --crop loudest"
  DEMO_SCALE           --scale of make_demo_data.py with --demo (default: 1)
  NIGHTSCAN_VENV       the virtual environment (default: .venv in the project folder,
                       made from requirements-dev.txt on first use)

Relative paths are taken from the current directory; the script runs from anywhere.

Rerunning the same command after an interruption (Ctrl-C, a crash, a full disk)
finishes the job: step 1 resumes where it stopped and step 3 makes only the missing
spectrograms. Step 2 always rebuilds its index (--overwrite: it takes seconds and is
written atomically), so the index always matches the pool as it is now; with the same
pool and options it holds the same rows.

Each step prints its table on stdout; progress bars and messages go to stderr.

exit status: 0 all done; 1 all done but a step skipped some files (it lists them, and
the pipeline goes on), or a step stopped on an error it reported (a full disk, a crash:
the pipeline stops there); otherwise the status of the step that failed, where the
pipeline stopped (2 bad usage or unusable input, 130 interrupted: rerun to resume).

examples:
  ./run_pipeline.sh --demo
  ./run_pipeline.sh --audio-root ~/NightScan/data/audio_data --data-dir ~/NightScan/data
  AUDIO_ROOT=~/NightScan/data/audio_data NUM_WORKERS=8 ./run_pipeline.sh
EOF
}

die() {  # a usage error: one line, exit status 2
    echo "$PROG: error: $*" >&2
    exit 2
}

CALLER_DIR=$PWD
# The project folder, where this script is (through a symbolic link too).
HERE=$(CDPATH='' cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd)

absolute() {  # a path given by the user, taken from the caller's directory
    case $1 in
        /*) printf '%s\n' "$1" ;;
        *) printf '%s\n' "$CALLER_DIR/${1#./}" ;;
    esac
}

# ---------------------------------------------------------------- options

demo=0 overwrite=0 quiet=0 audio_root_option=0
audio_root=${AUDIO_ROOT-} data_dir=${DATA_DIR-} target=${TARGET_SAMPLES-}
workers=${NUM_WORKERS-} seed=${SEED-} animal_type=${ANIMAL_TYPE-} group_pattern=${GROUP_PATTERN-}

set_option() {  # name value
    case $1 in
        --audio-root) audio_root=$2 audio_root_option=1 ;;
        --data-dir) data_dir=$2 ;;
        --target-samples) target=$2 ;;
        --num-workers) workers=$2 ;;
        --seed) seed=$2 ;;
        --animal-type) animal_type=$2 ;;
        --group-pattern) group_pattern=$2 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
}

while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --demo) demo=1 ;;
        --overwrite) overwrite=1 ;;
        -q | --quiet) quiet=1 ;;
        --*=*) set_option "${1%%=*}" "${1#*=}" ;;
        --audio-root | --data-dir | --target-samples | --num-workers | --seed | --animal-type | --group-pattern)
            [ $# -ge 2 ] || die "$1 needs a value (see --help)"
            set_option "$1" "$2"
            shift ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done

if [ "$demo" = 1 ]; then
    [ "$audio_root_option" = 0 ] || die "--demo makes its own audio root (DATA_DIR/demo_audio): leave out --audio-root"
    data_dir=$(absolute "${data_dir:-$HERE/data/demo}")
    audio_root=$data_dir/demo_audio
    target=${target:-60}
else
    [ -n "$audio_root" ] || die "no audio root: give --audio-root DIR (or AUDIO_ROOT), or try --demo (see --help)"
    audio_root=$(absolute "$audio_root")
    [ -d "$audio_root" ] || die "audio root not found or not a folder: $audio_root"
    data_dir=$(absolute "${data_dir:-$HERE/data}")
    target=${target:-500}
fi
pool_dir=$data_dir/augmented_pool
index_db=$data_dir/balanced_audio_index.db
spectrogram_dir=$data_dir/spectrograms_balanced
if [ -n "${NIGHTSCAN_VENV-}" ]; then
    NIGHTSCAN_VENV=$(absolute "$NIGHTSCAN_VENV")
    export NIGHTSCAN_VENV
fi
read -r -a step1_extra <<<"${STEP1_OPTIONS-}"
read -r -a step2_extra <<<"${STEP2_OPTIONS-}"
read -r -a step3_extra <<<"${STEP3_OPTIONS-}"

# ---------------------------------------------------------------- the steps' command lines

common=()
[ "$quiet" = 0 ] || common+=(-q)
again=()
[ "$overwrite" = 0 ] || again+=(--overwrite)
workers_option=()
[ -z "$workers" ] || workers_option+=(--num-workers "$workers")

demo_step=(make_demo_data.py --output-dir "$audio_root" --scale "${DEMO_SCALE:-1}" "${again[@]}" "${common[@]}")
step1=(create_augmented_pool.py --audio-root "$audio_root" --output-dir "$pool_dir"
       --target-samples "$target" "${workers_option[@]}" "${again[@]}" "${common[@]}")
step2=(create_balanced_index.py --pool-dir "$pool_dir" --output-db "$index_db" --overwrite "${common[@]}")
step3=(pregenerate_spectrograms_simple.py --index-db "$index_db" --pool-root "$pool_dir"
       --output-dir "$spectrogram_dir" "${workers_option[@]}" "${again[@]}" "${common[@]}")
if [ -n "$seed" ]; then
    step1+=(--seed "$seed")
    step2+=(--random-seed "$seed")
fi
[ -z "$group_pattern" ] || step2+=(--group-pattern "$group_pattern")
[ -z "$animal_type" ] || step3+=(--animal-type "$animal_type")
step1+=("${step1_extra[@]}")
step2+=("${step2_extra[@]}")
step3+=("${step3_extra[@]}")

# ---------------------------------------------------------------- helpers

shown() {  # a command line as one could paste it
    local out="" word
    for word in "$@"; do out+=" $(printf '%q' "$word")"; done
    printf '%s\n' "${out# }"
}

check_options() {  # every step's options through its own parser, before any work
    "$VENV_PYTHON" - "$@" <<'PY'
import importlib
import sys

args = sys.argv[1:]
while args:
    number, size, script = args[0], int(args[1]), args[2]
    step_args, args = args[3:2 + size], args[2 + size:]
    parser = importlib.import_module(script.removesuffix(".py")).build_parser()

    def refuse(message, number=number, script=script):
        print(f"run_pipeline.sh: error: step {number} ({script}) would refuse its options: "
              f"{message}; nothing was run", file=sys.stderr)
        sys.exit(2)

    parser.error = refuse
    parser.parse_args(step_args)
PY
}

run_logged() {  # log-file command...: run it, its stderr shown and kept in log-file
    local log=$1 status
    shift
    set +e
    "$@" 2>&1 1>&3 3>&- | (trap '' INT; tee "$log" >&2)
    status=${PIPESTATUS[0]}
    set -e
    return "$status"
}

skipped_files=0
step_log=$(mktemp "${TMPDIR:-/tmp}/run_pipeline.XXXXXX")
trap 'rm -f "$step_log"' EXIT
exec 3>&1

run_step() {  # number expected-output script args...
    local number=$1 expected=$2 script=$3 status=0 start=$SECONDS
    shift 3
    echo
    echo "== step $number: $(shown python "$script" "$@")"
    run_logged "$step_log" "$VENV_PYTHON" "$script" "$@" || status=$?
    # Exit status 1 means "done, some files skipped" (each listed); but a step that
    # stopped on an error (a full disk, a crash) has said "error: ..." or shown a traceback.
    if [ "$status" = 1 ] && { grep -qE '^(error: |Traceback )' "$step_log" || [ ! -e "$expected" ]; }; then
        echo "$PROG: step $number ($script) failed with exit status 1" >&2
        exit 1
    fi
    case $status in
        0) ;;
        1)
            echo "$PROG: warning: step $number ($script) exited with status 1: some files were" \
                "skipped or failed (listed above); going on" >&2
            skipped_files=1 ;;
        130)
            echo "$PROG: step $number ($script) failed with exit status 130 (interrupted);" \
                "rerun the same command to resume" >&2
            exit 130 ;;
        *)
            echo "$PROG: step $number ($script) failed with exit status $status" >&2
            exit "$status" ;;
    esac
    echo "== step $number done in $((SECONDS - start)) s"
}

index_summary() {  # "<classes> <train> <val> <test>" of an index
    "$VENV_PYTHON" - "$1" <<'PY'
import pathlib
import sqlite3
import sys

con = sqlite3.connect(pathlib.Path(sys.argv[1]).absolute().as_uri() + "?mode=ro", uri=True)
classes = con.execute("SELECT COUNT(DISTINCT class_name) FROM audio_samples").fetchone()[0]
rows = dict(con.execute("SELECT split, COUNT(*) FROM audio_samples GROUP BY split"))
print(classes, *(rows.get(s, 0) for s in ("train", "val", "test")))
PY
}

# ---------------------------------------------------------------- run

CDPATH='' cd -- "$HERE"
source scripts/ensure_venv.sh

steps_to_check=()
if [ "$demo" = 1 ]; then
    steps_to_check+=(0 "${#demo_step[@]}" "${demo_step[@]}")
fi
steps_to_check+=(1 "${#step1[@]}" "${step1[@]}" 2 "${#step2[@]}" "${step2[@]}" 3 "${#step3[@]}" "${step3[@]}")
check_options "${steps_to_check[@]}"

if [ "$demo" = 1 ]; then
    run_step 0 "$audio_root/demo_manifest.json" "${demo_step[@]}"
fi
run_step 1 "$pool_dir/pool_metadata.json" "${step1[@]}"
run_step 2 "$index_db" "${step2[@]}"
run_step 3 "$spectrogram_dir/spectrogram_config.json" "${step3[@]}"

summary=$(index_summary "$index_db")
read -r num_classes train_rows val_rows test_rows <<<"$summary"
echo
echo "== all done in $SECONDS s"
echo "audio root     $audio_root"
echo "pool           $pool_dir"
echo "index          $index_db  ($num_classes classes; train $train_rows, val $val_rows, test $test_rows rows)"
echo "spectrograms   $spectrogram_dir"
echo
echo "train with (in NightScan's training folder):"
echo "  python train_audio_large_scale.py \\"
echo "      --index-db $(printf '%q' "$index_db") \\"
echo "      --audio-root $(printf '%q' "$pool_dir") \\"
echo "      --spectrogram-cache-dir $(printf '%q' "$spectrogram_dir") \\"
echo "      --num-classes $num_classes \\"
echo "      --model efficientnet-b1 \\"
echo "      --batch-size 128 \\"
echo "      --no-balance-classes \\"
echo "      --epochs 50"
"$VENV_PYTHON" make_report.py --pool-dir "$pool_dir" --index-db "$index_db" \
    --spectrogram-dir "$spectrogram_dir" --output-dir "$data_dir/report" "${common[@]}"
exit "$skipped_files"
