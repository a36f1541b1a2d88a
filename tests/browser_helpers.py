"""A headless chromium, offline, driven by Selenium: the report tests' real browser.

Run as a script, it takes a screenshot of a page (how ``docs/report.png`` was made)::

    python tests/browser_helpers.py data/demo/report/report.html docs/report.png
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
#: no network, no background traffic, nothing kept between runs (a fresh profile)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1280,1000")


def have_chromium() -> bool:
    return Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()


@contextlib.contextmanager
def chromium() -> Iterator:
    """A webdriver on a headless chromium with a fresh profile and its console log kept."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def full_page_screenshot(driver, target: Path, *, until: str | None = None) -> None:
    """A screenshot of the whole page 1280 px wide, or down to the element with id ``until``."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    if until is not None:
        height = driver.execute_script(
            f"return document.getElementById('{until}').getBoundingClientRect().top + window.scrollY")
    driver.set_window_size(1280, int(height) + 20)
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(target))


if __name__ == "__main__":
    page, png = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
    with chromium() as browser:
        browser.get(page.as_uri())
        full_page_screenshot(browser, png, until="settings")
    print(png)
