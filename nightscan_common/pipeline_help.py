"""The pipeline's words: its --help and the training command it ends with."""

from __future__ import annotations

from . import cli

PROG = "run_pipeline.sh"
TRAIN_COMMAND = """train with (in NightScan's training folder):
  python train_audio_large_scale.py \\
      --index-db {index} \\
      --audio-root {pool} \\
      --spectrogram-cache-dir {spectrograms} \\
      --num-classes {classes} \\
      --model efficientnet-b1 \\
      --batch-size 128 \\
      --no-balance-classes \\
      --epochs 50"""
HELP = f"""usage: ./run_pipeline.sh --audio-root DIR [options]
       ./run_pipeline.sh --demo [options]

Runs the three steps of the NightScan dataset toolkit, each on the previous one's
output, then the report of the three outputs, and prints where everything is and the
train_audio_large_scale.py command:
  1. create_augmented_pool.py            -> DATA_DIR/augmented_pool/
  2. create_balanced_index.py            -> DATA_DIR/balanced_audio_index.db
  3. pregenerate_spectrograms_simple.py  -> DATA_DIR/spectrograms_balanced/
  4. make_report.py                      -> DATA_DIR/report/report.html (its path is printed)
Every option of every step is checked before the first step starts: by the step's own
parser and by its own checks (the group pattern compiles, the ratios sum to 1, the
spectrogram settings are valid).

options (or the environment variable on the right; an option wins over its variable):
  --audio-root DIR     AUDIO_ROOT      one sub-folder of recordings per class
                                       (required, except with --demo)
  --data-dir DIR       DATA_DIR        where the outputs go (default: data/ in the
                                       project folder; data/demo/ with --demo)
  --target-samples N   TARGET_SAMPLES  samples per class, made by step 1 (default: 500;
                                       60 with --demo)
  --num-workers W      NUM_WORKERS     worker processes of steps 1 and 3 (default: all cores)
  --scheduler ADDRESS  SCHEDULER       steps 1 and 3 on the Dask scheduler at ADDRESS, or
                                       'local' for a local Dask cluster (default: none;
                                       docs/cluster.md)
  --seed S             SEED            seed of steps 1 and 2 (default: 42)
  --animal-type TYPE   ANIMAL_TYPE     augmentation ranges of step 1 and spectrogram preset
                                       of step 3: general, bat, bat_fm, owl, bird_song,
                                       mammal, amphibian, insect (default: general)
  --group-pattern RE   GROUP_PATTERN   step 2: originals whose source path gives the same
                                       key stay in one split (e.g. one night's recordings)
  --overwrite                          outputs made with other options are replaced instead
                                       of refused (each step's --overwrite: step 1 keeps a
                                       pool made with these options, step 3 starts afresh)
  --keep-splits                        step 2 keeps the split of every group that the existing
                                       index holds (--keep-splits-from DATA_DIR/balanced_audio_
                                       index.db), so that a grown data set's test set stays put
  --demo                               first write the synthetic demo data set into
                                       DATA_DIR/demo_audio (make_demo_data.py), then run the
                                       pipeline on it; AUDIO_ROOT is ignored
  --dry-run                            check every option, print every step's command line
                                       and step 1's plan; write nothing
  -q, --quiet                          no progress bars
  --version                            the toolkit's version
  -h, --help                           this help
environment only:
  STEP1_OPTIONS, STEP2_OPTIONS, STEP3_OPTIONS, STEP4_OPTIONS
                       more options for one step, split at white space,
                       e.g. STEP3_OPTIONS="--channels 3 --crop loudest"
  DEMO_SCALE           --scale of make_demo_data.py with --demo (default: 1)
  NIGHTSCAN_VENV       the virtual environment (default: .venv in the project folder,
                       made from requirements-dev.txt on first use)

Relative paths are taken from the current directory; the script runs from anywhere.

Rerunning the same command after an interruption (Ctrl-C, a crash, a full disk)
finishes the job: step 1 resumes where it stopped and step 3 makes only the missing
spectrograms. Rerunning it after the audio root changed (recordings added, removed,
replaced, moved) updates every output to what a fresh build would hold: step 1 keeps
the pool files still wanted, makes the missing ones and removes the stale ones; step 3
recomputes the spectrograms whose pool file changed and removes those of rows gone.
Step 2 always rebuilds its index (--overwrite: it takes seconds and is written
atomically), so the index always matches the pool as it is now; with the same pool and
options it holds the same rows; with --keep-splits, groups keep their earlier split.

Each step prints its table on stdout; progress bars and messages go to stderr. The
last lines repeat every step's warnings.

{cli.EXIT_STATUS_HELP}
A step's status 1 is a warning and the pipeline goes on (the pipeline then exits 1);
any other status stops the pipeline there, with that status.

examples:
  ./run_pipeline.sh --demo
  ./run_pipeline.sh --audio-root ~/NightScan/data/audio_data --data-dir ~/NightScan/data
  AUDIO_ROOT=~/NightScan/data/audio_data NUM_WORKERS=8 ./run_pipeline.sh
"""
