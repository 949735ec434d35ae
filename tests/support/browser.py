"""A real headless Chromium for the tests that drive a page (the web console).

It is Debian's ``chromium`` driven through Debian's ``chromedriver``
(scripts/install.sh installs both): the driver's path is given, so Selenium
Manager, which would download a driver and a browser, is never run. The
browser's profile lives in a folder of the caller's, removed with it.
"""

from __future__ import annotations

from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WINDOW = (1440, 1800)


def start_chromium(profile: Path) -> webdriver.Chrome:
    """Headless Chromium with its profile in ``profile``; the caller quits it."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                     f"--window-size={WINDOW[0]},{WINDOW[1]}",
                     f"--user-data-dir={profile}"):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
