"""The noise-folder check: every bad file named with its reason, the good one kept."""

import numpy as np
import pytest
import soundfile as sf
from audiomentations import AddBackgroundNoise

from nightscan_common.dsp.noise_files import check_noise_folder
from nightscan_common.dsp.synthetic import noise_bursts
from nightscan_common.errors import UsageError


def messy_folder(root):
    root.mkdir()
    rng = np.random.default_rng(0)
    sf.write(root / "wind.flac", noise_bursts(2.0, 16000, rng), 16000)
    sf.write(root / "empty_frames.wav", np.zeros(0, dtype=np.float32), 16000)
    sf.write(root / "silent.ogg", np.zeros(16000, dtype=np.float32), 16000)
    sf.write(root / "corrupt.aiff", noise_bursts(1.0, 16000, rng), 16000)
    data = (root / "corrupt.aiff").read_bytes()
    (root / "corrupt.aiff").write_bytes(data[:12] + bytes(range(256)) * 4)  # garbage after FORM
    sf.write(root / "ultrasonic.wav", noise_bursts(0.5, 500_000, rng), 500_000)
    (root / "notes.txt").write_text("wind recorded at the lake\n")
    (root / "sub").mkdir()
    sf.write(root / "sub" / "rain.wav", noise_bursts(1.0, 22050, rng), 22050)
    return root


def test_a_messy_noise_folder_keeps_the_good_files_and_names_each_bad_one(tmp_path):
    check = check_noise_folder(messy_folder(tmp_path / "noise"))
    assert check.usable == ("sub/rain.wav", "wind.flac")
    reasons = {b.path: b.reason for b in check.bad}
    assert sorted(reasons) == ["corrupt.aiff", "empty_frames.wav", "notes.txt", "silent.ogg",
                               "ultrasonic.wav"]
    assert reasons["empty_frames.wav"] == "holds no samples"
    assert reasons["silent.ogg"].startswith("digital silence")
    assert reasons["ultrasonic.wav"] == "sample rate 500000 Hz is above 384000 Hz"
    assert reasons["notes.txt"] == "not an audio file name (.txt), ignored"
    assert reasons["corrupt.aiff"].startswith("not a readable audio file (")
    check.require_usable()


@pytest.mark.filterwarnings("ignore:.*had to be resampled")
def test_the_usable_paths_feed_add_background_noise(tmp_path):
    check = check_noise_folder(messy_folder(tmp_path / "noise"))
    transform = AddBackgroundNoise(sounds_path=check.usable_paths(), min_snr_db=10, max_snr_db=10, p=1.0)
    x = np.sin(np.arange(16000) / 16000 * 2 * np.pi * 440).astype(np.float32) * 0.3
    assert not np.allclose(transform(x, 16000), x)


def test_a_folder_with_no_usable_file_is_a_usage_error(tmp_path):
    folder = tmp_path / "noise"
    folder.mkdir()
    sf.write(folder / "silent.wav", np.zeros(8000, dtype=np.float32), 8000)
    with pytest.raises(UsageError, match=r"has no usable noise file \(silent.wav: digital silence"):
        check_noise_folder(folder).require_usable()
    with pytest.raises(UsageError, match="is not a folder"):
        check_noise_folder(tmp_path / "missing")
