"""Listen and look: a seeded few originals per class, each beside some of its augmentations.

The only part of the report that opens audio files: at most ``classes`` x
``originals`` x (1 + ``augmentations``) of them. Each shows step 3's spectrogram (or
the same computation, when there is no step 3 folder) and plays an excerpt of the
window step 3 analyses.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from . import audio
from .inputs import (
    FileEntry,
    NightScanError,
    PoolInputs,
    SpectrogramInputs,
    computed_spectrogram,
    derive_seed,
    mel_fraction,
    mel_middle,
    read_analysed_window,
    read_splits_of,
    resample,
    step3_array,
    step3_readers,
)
from .record import ClassSamples, Listen, Sample, SampleSet


@dataclass(frozen=True, kw_only=True)
class ListenOptions:
    """How much the grid shows; the defaults keep a report of any size under 10 MB."""

    seed: int = 42
    classes: int = 10
    originals: int = 2
    augmentations: int = 2


@dataclass(frozen=True)
class Media:
    image: str  # data URI, "" when the file could not be read
    audio: str


def choose(pool: PoolInputs, short: list[str], options: ListenOptions) -> dict[str, list[tuple]]:
    """Per class shown (short classes first, then by name): (original, [augmentations]) pairs."""
    order = [c for c in short if c in pool.classes] + [c for c in pool.classes if c not in short]
    chosen: dict[str, list[tuple[FileEntry, list[FileEntry]]]] = {}
    for name in order[:options.classes]:
        rng = random.Random(derive_seed(options.seed, "report", name))
        augs: dict[str, list[FileEntry]] = {}
        for f in pool.classes[name]:
            if f.is_augmented:
                augs.setdefault(f.source, []).append(f)
        originals = [f for f in pool.classes[name] if not f.is_augmented]
        with_augs = [f for f in originals if f.source in augs]
        pick = rng.sample(with_augs, min(options.originals, len(with_augs)))
        rest = [f for f in originals if f.source not in augs]
        pick += rng.sample(rest, min(options.originals - len(pick), len(rest)))
        chosen[name] = [(o, _some_augmentations(augs.get(o.source, []), options.augmentations, rng))
                        for o in sorted(pick, key=lambda f: f.name)]
    return chosen


def _some_augmentations(files: list[FileEntry], n: int, rng: random.Random) -> list[FileEntry]:
    """``n`` of an original's augmentations, of as many different types as there are."""
    by_type: dict[str, list[FileEntry]] = {}
    for f in files:
        by_type.setdefault(f.augmentation or "", []).append(f)
    types = sorted(by_type)
    rng.shuffle(types)
    picked = [rng.choice(by_type[t]) for t in types[:n]]
    left = [f for f in files if f not in picked]
    picked += rng.sample(left, min(n - len(picked), len(left)))
    return sorted(picked, key=lambda f: f.name)


def build(pool_dir: Path, index_db: Path, pool: PoolInputs, spectrograms: SpectrogramInputs,
          short: list[str], options: ListenOptions) -> tuple[Listen, dict[str, Media]]:
    """The grid's record and, per pool-relative path, its media."""
    chosen = choose(pool, short, options)
    paths = [f"{c}/{f.name}" for c, sets in chosen.items() for o, augs in sets for f in [o, *augs]]
    split_of = read_splits_of(index_db, paths)
    readers = step3_readers(spectrograms.folder, index_db)
    config = spectrograms.config
    expand = audio.time_expansion(config.sample_rate)
    rate = min(audio.EXCERPT_RATE, config.sample_rate) if expand == 1 else config.sample_rate
    media: dict[str, Media] = {}

    def sample(class_name: str, f: FileEntry) -> Sample:
        path = f"{class_name}/{f.name}"
        split = split_of.get(path)
        try:
            window = read_analysed_window(pool_dir / class_name / f.name, spectrograms.config)
        except (NightScanError, OSError) as exc:
            return Sample(path=path, augmentation=f.augmentation, params=dict(f.params), split=split,
                          spectrogram="", excerpt_start_s=None, error=str(exc))
        array = step3_array(readers, split, class_name, f.name)
        source = "step 3" if array is not None else "computed"
        if array is None:
            array = computed_spectrogram(window, spectrograms.config)
        heard = resample(window, config.sample_rate, rate)
        if f.seconds is not None:  # the window's zero padding is not worth hearing
            heard = heard[:max(1, int(round(f.seconds * rate)))]
        seconds = audio.EXCERPT_SECONDS / expand  # of the recording: x10 slower, it lasts EXCERPT_SECONDS
        start = audio.loudest_start(heard, rate=rate, seconds=seconds)
        excerpt = heard[start:start + int(round(seconds * rate))]
        media[path] = Media(audio.spectrogram_data_uri(array),
                            audio.wav_data_uri(excerpt, rate=rate // expand))
        padding = f.seconds if f.seconds is not None and f.seconds < config.duration else None
        nyquist = f.samplerate / 2 if f.samplerate and f.samplerate / 2 < config.fmax else None
        return Sample(path=path, augmentation=f.augmentation, params=dict(f.params), split=split,
                      spectrogram=source, excerpt_start_s=round(start / rate, 3),
                      padding_from_s=padding, nyquist_hz=nyquist,
                      nyquist_at=None if nyquist is None else round(mel_fraction(nyquist, config), 4),
                      time_expansion=expand)

    sets = [ClassSamples(c, [SampleSet(sample(c, o), [sample(c, a) for a in augs]) for o, augs in pairs])
            for c, pairs in chosen.items()]
    record = Listen(seed=options.seed, classes_shown=len(chosen), classes_total=len(pool.classes),
                    excerpt_seconds=audio.EXCERPT_SECONDS, excerpt_rate=rate // expand,
                    classes=sets, fmin=config.fmin, fmax=config.fmax, fmid=mel_middle(config),
                    window_seconds=config.duration)
    return record, media
