"""report.html in a real headless browser, offline: it loads clean, shows every image, plays every excerpt."""

from __future__ import annotations

import json
import sqlite3

import pytest
from browser_helpers import chromium, full_page_screenshot, have_chromium
from report_helpers import pipeline  # noqa: F401  (the session fixture)

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
                     "skipped": str(len(skipped)), "leaking": "0", "duplicates": "1",
                     "steps": "step 1 exit 1; step 2 exit 0; step 3 exit 0"}
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
