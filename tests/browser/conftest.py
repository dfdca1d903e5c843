"""Browser fixtures: ``oicc-bot rehearse`` in its own process and Debian's headless Chromium.

Screenshots go to ``artifacts/browser/`` (ignored by git), one per phase of a test.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.rehearsing import Rehearsal, Sentinel

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def chromium(width: int = 1860, height: int = 1480) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="oicc-chromium-")
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.profile_dir = profile  # type: ignore[attr-defined]
    return driver


@pytest.fixture
def sentinel() -> Iterator[Sentinel]:
    running = Sentinel().start()
    yield running
    running.stop()


@pytest.fixture
def rehearsal(tmp_path: Path, sentinel: Sentinel) -> Iterator[Rehearsal]:
    running = Rehearsal(tmp_path, sentinel)
    yield running
    running.stop()
    assert sentinel.requests == [], "the rehearsal called the Telegram API URL"


@pytest.fixture
def browser() -> Iterator[Any]:
    driver = chromium()
    yield driver
    with contextlib.suppress(Exception):
        driver.quit()
    shutil.rmtree(driver.profile_dir, ignore_errors=True)


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Any:
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)

    def take(driver: Any, name: str) -> Path:
        path = folder / f"{len(list(folder.iterdir())) + 1:02d}-{name}.png"
        driver.save_screenshot(str(path))
        return path

    return take
