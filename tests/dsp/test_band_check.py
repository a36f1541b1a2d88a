"""Every class hears its own band: a bat class under the general preset is named, with its lost share."""

from __future__ import annotations

import numpy as np
import soundfile as sf

import create_augmented_pool
import create_balanced_index
import pregenerate_spectrograms_simple
from nightscan_common.dsp.animals import PRESETS
from nightscan_common.dsp.band_check import class_bands, remedy
from nightscan_common.execution.cluster import RunOptions
from nightscan_common.io.audio_window import band_share
from nightscan_common.report import build_report
from nightscan_common.steps.spectrograms import run_spectrograms

BAT_RATE = 256000


def _sweeps(seconds: float, sr: int, *, top: float, bottom: float, seed: int) -> np.ndarray:
    """Downward sweeps of 5 ms from ``top`` to ``bottom`` Hz, every 100 ms, over faint noise."""
    t = np.arange(int(seconds * sr)) / sr
    out = np.random.default_rng(seed).standard_normal(len(t)) * 1e-4
    n = int(0.005 * sr)
    for start in range(int(0.02 * sr), len(t) - n, int(0.1 * sr)):
        freq = np.linspace(top, bottom, n)
        out[start:start + n] += 0.5 * np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.hanning(n)
    return out.astype(np.float32)


def _hoots(seconds: float, sr: int) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def _bat_and_owl(tmp_path):
    """Steps 1 and 2 on 3 bat files at 256 kHz (sweeps of 90 to 25 kHz) and 3 owl files at 16 kHz."""
    audio, pool, db = tmp_path / "audio", tmp_path / "pool", tmp_path / "index.db"
    for i in range(3):
        (audio / "bat").mkdir(parents=True, exist_ok=True)
        (audio / "owl").mkdir(parents=True, exist_ok=True)
        sf.write(audio / "bat" / f"b{i}.wav", _sweeps(1.0, BAT_RATE, top=90e3, bottom=25e3, seed=i), BAT_RATE)
        sf.write(audio / "owl" / f"o{i}.wav", _hoots(1.0 + i / 10, 16000), 16000)
    assert create_augmented_pool.main(["--audio-root", str(audio), "--output-dir", str(pool),
                                       "--target-samples", "3", "--num-workers", "1", "-q"]) == 0
    assert create_balanced_index.main(["--pool-dir", str(pool), "--output-db", str(db), "-q"]) == 0
    return pool, db


def test_band_share_is_the_energy_inside_the_band():
    sr = 48000
    t = np.arange(sr) / sr
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 20000 * t)
    share, median = band_share(low + high, sr, (50.0, 11000.0))
    assert abs(share - 0.5) < 0.01
    share, median = band_share(high, sr, (50.0, 11000.0))
    assert share < 0.01 and abs(median - 20000) < 20
    assert band_share(np.zeros(100), sr, (50.0, 11000.0)) == (None, None)


def test_a_256_khz_bat_class_under_the_general_preset_is_named_with_its_lost_share(tmp_path, capsys):
    pool, db = _bat_and_owl(tmp_path)
    out = tmp_path / "spectrograms"
    report = run_spectrograms(db, pool, out, PRESETS["general"],
                              run=RunOptions(num_workers=1, progress=False), preset="general")
    bat = next(b for b in report.bands if b.name == "bat")
    owl = next(b for b in report.bands if b.name == "owl")
    assert bat.files == 3 and bat.min_rate == bat.max_rate == BAT_RATE
    assert bat.share < 0.05 and owl.share > 0.95 and not owl.warning
    assert 25e3 < bat.median_hz < 90e3
    lost = [w for w in report.warnings if w.startswith("bat:")]
    assert lost == [bat.warning]
    assert lost[0].startswith("bat: 3 files at 256 kHz; the general preset keeps 50-11,000 Hz, where ")
    assert f"where {bat.share:.0%} of their energy is" in lost[0]
    assert lost[0].endswith("use --animal-type bat (15,000-96,000 Hz)")
    assert not any(w.startswith("owl:") for w in report.warnings)
    capsys.readouterr()
    assert pregenerate_spectrograms_simple.main(["--index-db", str(db), "--pool-root", str(pool),
                                                 "--output-dir", str(out), "-q"]) == 0
    assert f"warning: {bat.warning}" in capsys.readouterr().err  # the front end says it too

    page_dir = tmp_path / "report"
    result = build_report(pool, db, out, page_dir)
    shown = {b.name: b for b in result.report.bands}
    assert shown["bat"].warning == bat.warning  # the report says what step 3 said
    page = result.html_path.read_text(encoding="utf-8")
    assert 'id="band-warnings"' in page and "bat: 3 files at 256 kHz" in page
    assert "<td>bat</td>" in page and f"<td>{bat.share:.0%}</td>" in page


def test_the_bat_preset_hears_the_same_class():
    windows = {f"train/bat/b{i}": {"path": f"bat/b{i}.wav", "native_samplerate": BAT_RATE,
                                   "band_share": 0.97, "median_hz": 45000.0} for i in range(3)}
    (bat,) = class_bands(windows, PRESETS["bat"], preset="bat")
    assert bat.share == 0.97 and bat.warning == ""


def test_the_remedy_is_a_preset_whose_band_holds_the_median_or_a_rate_to_raise():
    assert remedy(45000.0, current="general") == "use --animal-type bat (15,000-96,000 Hz)"
    assert remedy(3000.0, current="bird_song") == "use --animal-type general (50-11,000 Hz)"
    # a 12 kHz class recorded at 32 kHz: insect's band (2-15 kHz) fits below its Nyquist frequency
    assert remedy(12000.0, current="general", nyquist=16000) == "use --animal-type insect (2,000-15,000 Hz)"
    assert remedy(150000.0, current="bat") == ("raise --sample-rate above 300,000 Hz and --fmax above "
                                                "150,000 Hz")
