"""report.html in a real headless browser, offline: it loads clean, shows every image, plays every excerpt."""

from __future__ import annotations

import json
import sqlite3

import pytest
from browser_helpers import chromium, full_page_screenshot, have_chromium
from report_helpers import build_cross_class_pipeline, pipeline  # noqa: F401  (the session fixture)

from nightscan_common.report import build_report

pytestmark = pytest.mark.skipif(not have_chromium(), reason="chromium and chromedriver are not installed")


@pytest.fixture(scope="module")
def page(pipeline, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("browser_report")
    result = build_report(pipeline.pool, pipeline.index, pipeline.spectrograms, out)
    with chromium() as driver:
        driver.get(result.html_path.as_uri())
        driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        yield driver, result, out


def test_the_page_loads_with_no_console_error_and_nothing_from_the_network(page):
    driver, _, _ = page
    assert driver.title == "NightScan dataset report"
    assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    sources = driver.execute_script(
        "return [...document.querySelectorAll('[src], link[href]')].map(e => e.src || e.href)")
    assert sources and all(s.startswith("data:") for s in sources)
    fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(("data:", "file:")) for u in fetched), fetched


def test_every_image_has_decoded(page):
    driver, result, _ = page
    widths = driver.execute_script(
        "return [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    readable = [s for s in result.report.listen.samples() if not s.error]
    assert len(widths) == 4 + len(readable)  # the four figures and one spectrogram per sample
    assert all(done and w > 0 and h > 0 for done, w, h in widths), widths
    assert sorted({w for _, w, _ in widths[4:]}) == [345]  # one pixel per frame of step 3's array


def test_every_audio_element_has_a_playable_source(page):
    driver, result, _ = page
    state = """return [...document.querySelectorAll('audio')].map(
        a => [a.canPlayType('audio/wav'), a.readyState, a.duration, a.error && a.error.code])"""
    driver.set_script_timeout(30)
    driver.execute_async_script("""const done = arguments[arguments.length - 1];
        const all = [...document.querySelectorAll('audio')];
        const ready = () => all.every(a => a.readyState >= 1 || a.error);
        const poll = () => ready() ? done() : setTimeout(poll, 50);
        all.forEach(a => a.load()); poll();""")
    audios = driver.execute_script(state)
    assert len(audios) == len(result.report.listen.samples()) >= 12  # 3 classes x 2 originals, and augmented
    for can_play, ready, duration, error in audios:
        assert can_play in ("maybe", "probably") and error is None
        assert ready >= 1 and 0 < duration <= result.report.listen.excerpt_seconds + 0.01


def test_the_summary_line_shows_the_right_numbers(page, pipeline):  # noqa: F811
    driver, _, out = page
    shown = driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#summary [data-key]')]"
        ".map(e => [e.dataset.key, e.textContent]))")
    with sqlite3.connect(pipeline.index) as con:
        classes, samples = con.execute(
            "SELECT COUNT(DISTINCT class_name), COUNT(*) FROM audio_samples").fetchone()
    skipped = json.loads((pipeline.pool / "pool_metadata.json").read_text(encoding="utf-8"))["skipped"]
    assert shown == {"classes": str(classes), "samples": str(samples), "target": "8", "short": "1",
                     "skipped": str(len(skipped)), "leaking": "0", "cross_class": "0", "duplicates": "1",
                     "steps": "step 1 exit 1 (1 file(s) skipped (unreadable or empty)); step 2 exit 0; "
                              "step 3 exit 0"}
    assert driver.find_element("id", "short-classes").text == "owl"
    text = driver.find_element("id", "summary").text
    assert text.startswith("3 classes · 22 samples · 8 target per class · 1 short of it: owl · "
                           "1 skipped files")


def test_a_screenshot_of_the_page(page, tmp_path):
    driver, _, _ = page
    shot = tmp_path / "report.png"
    full_page_screenshot(driver, shot)
    box = driver.execute_script("const r = document.getElementById('summary').getBoundingClientRect();"
                                "return [r.left, r.top, r.height]")
    from PIL import Image

    with Image.open(shot) as image:
        assert image.width == 1280 and image.height > 1500
        # the summary's left border is drawn in the palette's blue
        x, y = int(box[0]) + 2, int(box[1] + box[2] / 2)
        assert image.getpixel((x, y))[:3] == (0, 114, 178)


# --- what a new user hit: a recording under two classes, an ignored .m4a, a rate below the band ---

@pytest.fixture(scope="module")
def cross_page(tmp_path_factory):
    built = build_cross_class_pipeline(tmp_path_factory.mktemp("cross_class_pipeline"))
    out = tmp_path_factory.mktemp("cross_class_report")
    result = build_report(built.pool, built.index, built.spectrograms, out)
    with chromium() as driver:
        driver.get(result.html_path.as_uri())
        yield driver, result, built


def _summary(driver) -> dict[str, str]:
    return driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#summary [data-key]')]"
        ".map(e => [e.dataset.key, e.textContent]))")


def test_a_recording_in_two_classes_is_in_the_summary_and_the_leakage_section(cross_page):
    driver, _, built = cross_page
    copies = ["finch/from_tit_original.wav", "tit/rec_000_original.wav"]
    with sqlite3.connect(built.index) as con:
        splits = [con.execute("SELECT split FROM audio_samples WHERE file_path = ?", (f,)).fetchone()[0]
                  for f in copies]
    leaks = int(len(set(splits)) > 1)
    shown = _summary(driver)
    assert shown["cross_class"] == "1" and shown["leaking"] == str(leaks)
    item = driver.find_element("css selector", "#summary [data-key=cross_class]")
    assert "bad" in item.get_attribute("class")
    section = driver.find_element("id", "cross-class").text
    assert f"{copies[0]} ({splits[0]}) = {copies[1]} ({splits[1]})" in section
    assert ("in two splits" in section) == bool(leaks)
    # the pair is one duplicate, not three
    assert shown["duplicates"] == "1"


def test_the_step_statuses_are_the_ones_the_steps_exited_with(cross_page):
    driver, _, _ = cross_page
    assert _summary(driver)["steps"] == (
        "step 1 exit 1 (1 recording(s) filed under two classes or more); "
        "step 2 exit 1 (1 recording(s) filed under two classes or more); step 3 exit 0")
    rows = driver.execute_script("return [...document.querySelector('#steps table').rows].slice(1)"
                                 ".map(r => [...r.cells].map(c => c.textContent))")
    assert [(r[0], r[1], r[3]) for r in rows] == [("step 1", "1", "the step's record"),
                                                  ("step 2", "1", "the step's record"),
                                                  ("step 3", "0", "the step's record")]


def test_warnings_json_and_the_ignored_files_are_shown(cross_page):
    driver, result, built = cross_page
    steps = driver.find_element("id", "steps").text
    assert "tit/phone.m4a: AAC or ALAC in MP4 (.m4a) is not decoded here; convert it first" in steps
    listed = json.loads((built.spectrograms / "warnings.json").read_text(encoding="utf-8"))
    assert len(listed) == 4 and f"warnings.json ({len(listed)} file(s))" in steps
    cells = driver.execute_script(
        "return [...document.querySelectorAll('#steps td')].map(c => c.textContent)")
    assert all(w["path"] in cells and w["warning"] in cells for w in listed)


def test_the_page_fits_a_500_px_screen_without_sideways_scrolling(cross_page, page):
    for driver, _, _ in (cross_page, page):
        driver.set_window_size(500, 900)
        inner, width = driver.execute_script(
            "return [window.innerWidth, document.documentElement.scrollWidth]")
        assert inner <= 500 and width <= inner, (inner, width)
        driver.set_window_size(1280, 1000)


def test_tiles_have_axes_and_a_legend_for_padding_and_above_nyquist(cross_page):
    driver, result, _ = cross_page
    tiles = driver.execute_script("""return [...document.querySelectorAll('.tile')].map(t => ({
        y: [...t.querySelectorAll('.yaxis span')].map(s => s.textContent),
        x: [...t.querySelectorAll('.xaxis span')].map(s => s.textContent),
        units: [t.querySelector('.ytitle').textContent, t.querySelector('.xtitle').textContent],
        pad: [...t.querySelectorAll('.pad')].map(e => e.getBoundingClientRect().width),
        nyq: [...t.querySelectorAll('.nyq')].map(e => e.getBoundingClientRect().height),
        img: t.querySelector('img').getBoundingClientRect().height}))""")
    samples = [s for s in result.report.listen.samples() if not s.error]
    assert len(tiles) == len(samples) >= 6
    for tile, sample in zip(tiles, samples, strict=True):
        assert tile["units"] == ["Hz", "s"] and tile["x"] == ["0", "4", "8"]
        assert tile["y"][0] == "11k" and tile["y"][-1] == "50"
        assert len(tile["pad"]) == 1 and tile["pad"][0] > 0  # every clip is shorter than 8 s
        # 8 kHz owls stop at 4 kHz, the 16 kHz classes at 8 kHz: the top of the band is empty
        assert len(tile["nyq"]) == 1 and 0 < tile["nyq"][0] < tile["img"]
        owl = sample.path.startswith("owl/")
        assert sample.nyquist_hz == (4000.0 if owl else 8000.0)
    legend = driver.find_element("id", "tile-legend").text
    assert "padding" in legend and "Nyquist" in legend and "Hz" in legend
