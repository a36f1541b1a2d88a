"""Content fingerprints of recordings, and grouping of re-encoded or re-sampled copies.

The idea is Haitsma and Kalker's: the signs of a 33-band log-mel's differences across
bands and over time, one 32-bit word per frame, at 8 kHz whatever the file's rate.
Encodings, resampling, gain and channel mixing change few bits; another recording
changes about half. Two fingerprints match when, at the best alignment within
``MAX_OFFSET_FRAMES``, at most ``MATCH_BIT_ERROR`` of the bits they share differ.

Grouping never compares all pairs: each fingerprint gives a bottom-k sketch of hashed
sub-words (bits sampled out of each word, so that a word with a few flipped bits still
agrees on some), fingerprints that share two sketch keys become candidates, and only
candidates are compared bit by bit.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np

FINGERPRINT_VERSION = 1
SAMPLERATE = 8000
N_FFT = 512  # 64 ms windows
HOP = 256  # 32 ms between words
N_BANDS = 33  # 32 band differences: one uint32 word per frame
FMIN = 100.0
#: Only the first seconds are fingerprinted: enough to tell recordings apart, and a
#: bounded size (at most 937 words, 5 kB of text) in the metadata for an hour-long file.
MAX_SECONDS = 30.0
#: A frame takes part only if it is within this range of the clip's loudest frame
#: and above the absolute floor: silence and the least-significant bit carry no content.
ACTIVE_RANGE_DB = 50.0
ACTIVE_FLOOR_DBFS = -80.0
#: Bands this far below the clip's loudest band are floored, so their bits stay put.
BAND_RANGE_DB = 60.0
MAX_OFFSET_FRAMES = 4  # ±128 ms: encoder delays and resampler latency
MATCH_BIT_ERROR = 0.25  # measured: copies of one clip <= 0.16; look-alikes >= 0.40
MIN_OVERLAP_FRAMES = 8  # about 0.3 s of active frames in common
#: Bits sampled from each word to make lookup keys: 24 of 32, four different ways.
_MASKS = np.array([0x00FFFFFF, 0xFFFFFF00, 0xFF00FFFF, 0xFFFF00FF], dtype=np.uint64)
_TAGS = np.arange(len(_MASKS), dtype=np.uint64) << np.uint64(32)  # keeps the masks' keys apart
SKETCH_SIZE = 128  # keys per fingerprint
MIN_SHARED_KEYS = 2  # keys two fingerprints share to be compared
BUCKET_ALL_PAIRS = 32  # a larger bucket is compared to its first member only


@dataclass(frozen=True, eq=False)
class Fingerprint:
    """The words of a recording and which of them carry sound.

    ``words``: uint32 of shape ``(n,)``, one per 32 ms frame; ``active``: bool ``(n,)``.
    """

    words: np.ndarray
    active: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Fingerprint) and np.array_equal(self.words, other.words)
                and np.array_equal(self.active, other.active))

    @property
    def active_frames(self) -> int:
        return int(self.active.sum())

    def to_text(self) -> str:
        """``"fp1:<n>:<base64 words>:<base64 active bits>"``: plain ASCII for JSON."""
        words = base64.b64encode(self.words.astype("<u4").tobytes()).decode("ascii")
        active = base64.b64encode(np.packbits(self.active).tobytes()).decode("ascii")
        return f"fp{FINGERPRINT_VERSION}:{len(self.words)}:{words}:{active}"

    @classmethod
    def from_text(cls, text: str) -> Fingerprint:
        """The inverse of ``to_text``; ``ValueError`` for text of another version or form."""
        parts = text.split(":")
        if len(parts) != 4 or parts[0] != f"fp{FINGERPRINT_VERSION}":
            raise ValueError(f"not a version-{FINGERPRINT_VERSION} fingerprint: {text[:40]!r}")
        n = int(parts[1])
        words = np.frombuffer(base64.b64decode(parts[2]), dtype="<u4").astype(np.uint32)
        active = np.unpackbits(np.frombuffer(base64.b64decode(parts[3]), dtype=np.uint8))[:n]
        if len(words) != n or len(active) != n:
            raise ValueError(f"fingerprint length {n} does not match its data")
        return cls(words, active.astype(bool))

    def sketch(self) -> np.ndarray:
        """The lookup keys: the ``SKETCH_SIZE`` smallest hashes of masked active words.

        A bottom-k sketch: two copies of one recording share the exact masked words
        that no codec flipped, and so share some of their smallest hashes, whatever
        their length. uint64 of shape ``(<= SKETCH_SIZE,)``, sorted.
        """
        words = self.words[self.active].astype(np.uint64)
        if not len(words):
            return np.zeros(0, dtype=np.uint64)
        hashed = _mix64(((words & _MASKS[:, None]) | _TAGS[:, None]).ravel())
        if len(hashed) > 2 * SKETCH_SIZE:  # the smallest, then sorted: cheaper than a full sort
            hashed = np.partition(hashed, 2 * SKETCH_SIZE - 1)[: 2 * SKETCH_SIZE]
        hashed.sort()
        return hashed[np.r_[True, hashed[1:] != hashed[:-1]]][:SKETCH_SIZE]


def _mix64(x: np.ndarray) -> np.ndarray:
    """A 64-bit mixer (splitmix64's finaliser), element-wise on uint64."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@cache
def _mel_basis() -> np.ndarray:
    import librosa  # here: step 2 groups fingerprints without making any

    return librosa.filters.mel(sr=SAMPLERATE, n_fft=N_FFT, n_mels=N_BANDS, fmin=FMIN,
                               fmax=SAMPLERATE / 2, dtype=np.float32)


@cache
def _window() -> np.ndarray:
    return np.hanning(N_FFT + 1)[:-1].astype(np.float32)


def _rfft_rows(frames: np.ndarray) -> np.ndarray:
    """The real FFT of each row, float32 in, complex64 out.

    scipy's pocketfft transforms several rows at once in SIMD registers: 1.5x faster than
    numpy's on the 250 frames of 512 of an 8 s clip, and the same words
    (``tests/dsp/test_fingerprint.py``).
    """
    import scipy.fft  # here: step 2 groups fingerprints without making any

    return scipy.fft.rfft(frames, axis=1)


def fingerprint(samples: np.ndarray, samplerate: int) -> Fingerprint:
    """The fingerprint of a decoded recording.

    ``samples``: float ``(frames,)`` or ``(frames, channels)`` (channels are averaged),
    at ``samplerate`` Hz. Only the first ``MAX_SECONDS`` are used.
    """
    x = np.asarray(samples, dtype=np.float32)
    x = x[: int(MAX_SECONDS * samplerate)]
    if x.ndim == 2:
        x = x.mean(axis=1, dtype=np.float32)
    if not np.isfinite(x).all():  # checked first: nan_to_num alone costs a third of the rest
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if samplerate != SAMPLERATE:
        import soxr  # here: step 2 groups fingerprints without making any

        x = soxr.resample(x, samplerate, SAMPLERATE, quality="MQ").astype(np.float32, copy=False)
    if len(x) < N_FFT + HOP:
        x = np.pad(x, (0, N_FFT + HOP - len(x)))
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT)[::HOP]
    mean_square = np.einsum("ij,ij->i", frames, frames) / N_FFT
    spectrum = _rfft_rows(frames * _window())
    power = spectrum.real**2 + spectrum.imag**2
    mel = _mel_basis() @ power.T  # (bands, frames)
    loudest = float(mean_square.max())
    floor = 10.0 ** (ACTIVE_FLOOR_DBFS / 10.0)
    active = (mean_square >= loudest * 10.0 ** (-ACTIVE_RANGE_DB / 10.0)) & (mean_square >= floor)
    log_mel = np.log(mel + max(float(mel.max()), 1e-30) * 10.0 ** (-BAND_RANGE_DB / 10.0))
    band_diff = log_mel[:-1] - log_mel[1:]  # (32, frames)
    bits = (band_diff[:, 1:] - band_diff[:, :-1]) > 0  # (32, frames - 1)
    weights = (np.uint32(1) << np.arange(N_BANDS - 1, dtype=np.uint32))[:, None]
    words = (bits.astype(np.uint32) * weights).sum(axis=0, dtype=np.uint32)
    return Fingerprint(words, active[1:] & active[:-1])


@dataclass(frozen=True)
class Comparison:
    """The best alignment of two fingerprints."""

    bit_error: float  # fraction of differing bits over the frames both hold sound in; 1.0 if none
    offset: int  # frames: word i of the first faces word i + offset of the second
    overlap: int  # active frames in common at that offset

    @property
    def is_match(self) -> bool:
        return self.overlap >= MIN_OVERLAP_FRAMES and self.bit_error <= MATCH_BIT_ERROR


def compare(a: Fingerprint, b: Fingerprint, *, max_offset: int = MAX_OFFSET_FRAMES) -> Comparison:
    """The lowest bit error rate of ``a`` against ``b`` over offsets ``-max_offset..max_offset``.

    Offsets with fewer than ``MIN_OVERLAP_FRAMES`` active frames in common do not count:
    a few frames of agreement prove nothing.
    """
    best = Comparison(1.0, 0, 0)
    for offset in range(-max_offset, max_offset + 1):
        lo, hi = max(0, -offset), min(len(a), len(b) - offset)
        if hi - lo < MIN_OVERLAP_FRAMES:
            continue
        both = a.active[lo:hi] & b.active[lo + offset:hi + offset]
        overlap = int(both.sum())
        if overlap < MIN_OVERLAP_FRAMES:
            continue
        errors = int(np.bitwise_count(a.words[lo:hi][both] ^ b.words[lo + offset:hi + offset][both]).sum())
        rate = errors / (32 * overlap)
        if rate < best.bit_error:
            best = Comparison(rate, offset, overlap)
    return best


def candidate_pairs(sketches: list[np.ndarray]) -> np.ndarray:
    """Index pairs ``(i, j)``, i < j, of sketches sharing ``MIN_SHARED_KEYS`` keys or more.

    int64 of shape ``(m, 2)``, sorted. A key held by more than ``BUCKET_ALL_PAIRS``
    fingerprints pairs each with the first of them only, so that a common key costs
    linear time, not quadratic. Two keys, not one: a single shared key happens by
    chance to about one pair in a thousand, two to about one in a million.
    """
    n = len(sketches)
    sizes = np.array([len(s) for s in sketches], dtype=np.int64)
    if sizes.sum() == 0:
        return np.zeros((0, 2), dtype=np.int64)
    keys = np.concatenate(sketches)
    owner = np.repeat(np.arange(n, dtype=np.int64), sizes)
    order = np.argsort(keys)  # not stable: pairs are put in order below
    keys, owner = keys[order], owner[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    counts = np.diff(np.r_[starts, len(keys)])
    codes = [np.zeros(0, dtype=np.int64)]
    for count in np.unique(counts[(counts > 1) & (counts <= BUCKET_ALL_PAIRS)]).tolist():
        members = owner[starts[counts == count][:, None] + np.arange(count)]  # (buckets, count)
        i, j = np.triu_indices(count, 1)
        a, b = members[:, i], members[:, j]
        codes.append((np.minimum(a, b) * n + np.maximum(a, b)).ravel())
    for start, count in zip(starts[counts > BUCKET_ALL_PAIRS].tolist(),
                            counts[counts > BUCKET_ALL_PAIRS].tolist(), strict=True):
        members = np.sort(owner[start:start + count])
        codes.append(members[0] * n + members[1:])
    unique, shared = np.unique(np.concatenate(codes), return_counts=True)
    kept = unique[shared >= MIN_SHARED_KEYS]
    return np.stack([kept // n, kept % n], axis=1)


def group_duplicates(fingerprints: Mapping[str, Fingerprint]) -> list[list[str]]:
    """Groups of names whose fingerprints match, directly or through a chain of matches.

    Only groups of two or more are returned; each is sorted, its first name being the
    representative, and the groups are sorted by it: the result depends on the names
    and fingerprints only, not on their order. Names may be ``"<class>/<path>"`` to
    group across classes, or paths within one class.

    .. note:: Silence matches nothing, not even other silence: a fingerprint needs
       ``MIN_OVERLAP_FRAMES`` frames with sound. Byte-identical files are the sha256's
       to group; silent files should not get this far (see ``audit.gate_reason``).
    """
    names = sorted(fingerprints)
    fps = [fingerprints[n] for n in names]
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in candidate_pairs([fp.sketch() for fp in fps]).tolist():
        ri, rj = root(i), root(j)
        if ri != rj and compare(fps[i], fps[j]).is_match:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[str]] = {}
    for i, name in enumerate(names):
        groups.setdefault(root(i), []).append(name)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: g[0])
