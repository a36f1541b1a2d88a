"""Step 3's rate warnings: a band the file's rate cannot carry, content above the settings' rate."""

from __future__ import annotations

import json

import pytest

from nightscan_common.dsp.animals import PRESETS
from nightscan_common.formats.spectrogram_folder import write_list
from nightscan_common.steps.spectrogram_warnings import (
    ABOVE,
    TOO_LOW,
    RateWarning,
    listed,
    rate_warning,
    summary_lines,
)

BAT, OWL = PRESETS["bat"], PRESETS["owl"]  # 192 kHz, 15-96 kHz; 16 kHz, 200-4000 Hz


@pytest.mark.parametrize("config, rate, kind, says", [
    (BAT, 22050, TOO_LOW, "holds nothing of the band 15000-96000 Hz (Nyquist 11025 Hz)"),
    (BAT, 96000, TOO_LOW, "carries less than half of the band 15000-96000 Hz (nothing above 48000 Hz)"),
    (BAT, 500000, ABOVE, "is above the settings' 192000 Hz: what it holds above 96000 Hz is dropped"),
    (BAT, 250000, ABOVE, "what it holds above 96000 Hz is dropped"),
])
def test_a_rate_that_does_not_fit_is_named_with_what_it_misses(config, rate, kind, says):
    warning = rate_warning("bat/a.wav", rate, config)
    assert warning.kind == kind and says in warning.warning and warning.samplerate == rate


# owl's band stops at 4 kHz, below its Nyquist frequency: a 44.1 kHz recording loses nothing it asks for
@pytest.mark.parametrize("config, rate", [(BAT, 192000), (BAT, 128000), (OWL, 16000), (OWL, 8000),
                                          (OWL, 44100)])
def test_a_rate_that_fits_gives_no_warning(config, rate):
    assert rate_warning("a.wav", rate, config) is None


def test_the_summary_has_one_line_per_rate_and_the_file_lists_each(tmp_path):
    found = [rate_warning(f"bat/{i}.wav", 500000, BAT) for i in range(5)]
    found.append(rate_warning("bat/x.wav", 22050, BAT))
    found += [rate_warning(f"bat/y{i}.wav", 22050, BAT) for i in range(3)]
    assert summary_lines(found, BAT) == [  # the files above have window_manifest's line
        "4 file(s) at 22050 Hz cannot carry the band 15000-96000 Hz (Nyquist 11025 Hz): "
        "bat/x.wav, bat/y0.wav, bat/y1.wav and 1 more"]
    path = tmp_path / "warnings.json"
    write_list(path, listed(found))
    on_disk = json.loads(path.read_text())
    assert [w["path"] for w in on_disk] == sorted(w.path for w in found)
    assert [RateWarning(**w) for w in on_disk] == sorted(found)
    write_list(path, listed([]))
    assert not path.exists()
