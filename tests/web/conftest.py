"""The floor's remote under test: a real stage serving it on loopback, and Debian's Chromium driving it.

``web_stage`` (one per module: the browser tests share it) runs a stage with an emulated Tessera wall,
two looks and two cues, a take recorder, OSC control-in and ``[web]`` on 127.0.0.1, any free port.
``chromium`` starts one headless Chromium per module through Selenium and Debian's chromedriver;
``chromium_no_js`` one with JavaScript switched off. Without chromedriver the tests fail saying what to
install (nothing is skipped).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from stagectl.stage.runner import StageRunner
from tests.support.polling import wait_until
from tests.support.stagefile import StageFile

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
PASSCODE = "orchid-lantern-42"
BRIGHTNESS = "output/global-colour/brightness"


def web_stage_file(**web: object) -> StageFile:
    """A simulated camera, an emulated Tessera wall, looks beside the stage file, takes, OSC control-in
    and the web remote on loopback."""
    web = {"listen": "127.0.0.1:0", "passcode": PASSCODE, **web}
    stage = (StageFile("Web test").source("A")
             .device("tessera", "wall", zone="wall", emulator=True, poll_ms=200)
             .looks(dir="looks", fade_s=1.0).takes(dir="takes").control())
    stage.tables["web"] = dict(web)
    return stage


def write_looks(folder: Path) -> None:
    """Two looks (Dim 100 nit, Bright 1600 nit on the wall) and two cues (the second fades 1.5 s)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, nits, cct in (("Dim", 100.0, 3200.0), ("Bright", 1600.0, 5600.0)):
        data = {"schema": "stagectl.look/1", "name": name, "notes": "",
                "zones": {"wall": {"brightness_nits": nits, "cct_k": cct}}}
        (folder / f"{name.lower()}.json").write_text(json.dumps(data), encoding="utf-8")
    (folder / "cues.json").write_text(json.dumps({"schema": "stagectl.cues/1", "cues": [
        {"number": "1", "look": "Dim", "fade_s": 0.0, "easing": "linear"},
        {"number": "2", "look": "Bright", "fade_s": 1.5, "easing": "linear", "label": "sunrise"}]}),
        encoding="utf-8")


@dataclass
class WebStage:
    """A running stage with its remote: the runner, the remote's base URL and the control-in's port."""

    runner: StageRunner
    url: str
    osc_port: int
    folder: Path

    def brightness(self) -> object:
        """The emulated Tessera's global brightness now."""
        return self.runner.stage.devices.emulators["wall"].value(BRIGHTNESS)


def start_web_stage(folder: Path, **web: object) -> WebStage:
    """Write the looks and start the stage in ``folder``; wait for its wall and its remote."""
    write_looks(folder / "looks")
    runner = StageRunner(web_stage_file(**web).config(folder))
    try:
        server = runner.stage.web
        assert server is not None and server.running, runner.stage.status()["web"]
        control = runner.stage.control
        assert control is not None
        wait_until(lambda: runner.stage.status()["devices"]["wall"]["state"] == "up", what="the wall up")
        wait_until(lambda: len(runner.stage.lighting.latest.looks) == 2, what="the looks read")
    except BaseException:
        runner.close()
        raise
    return WebStage(runner, server.urls[0].rstrip("/"), control.address.port, folder)


@pytest.fixture(scope="module")
def web_stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStage]:
    """One stage with its remote for the module's tests."""
    stage = start_web_stage(tmp_path_factory.mktemp("web-stage"))
    yield stage
    stage.runner.close()


def _chromium(folder: Path, *, javascript: bool, size: tuple[int, int] = (1024, 1366)) -> WebDriver:
    if not os.path.exists(CHROMEDRIVER) or shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMEDRIVER} or {CHROMIUM} is missing: install Debian's chromium and chromium-driver "
                    "(apt-get install chromium chromium-driver; .ci/run does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={folder}", f"--window-size={size[0]},{size[1]}"):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def make_chromium(folder: Path, *, javascript: bool = True,
                  size: tuple[int, int] = (1024, 1366)) -> WebDriver:
    """A headless Chromium (the caller quits it)."""
    return _chromium(folder, javascript=javascript, size=size)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium with JavaScript, for the module."""
    driver = _chromium(tmp_path_factory.mktemp("chromium"), javascript=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def chromium_no_js(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium with JavaScript switched off, for the module."""
    driver = _chromium(tmp_path_factory.mktemp("chromium-nojs"), javascript=False)
    yield driver
    driver.quit()


def text_of(driver: WebDriver, selector: str) -> str:
    """The text of the element at ``selector`` now ("" while the page replaces it or loads another)."""
    try:
        return str(driver.find_element(By.CSS_SELECTOR, selector).text)
    except (StaleElementReferenceException, NoSuchElementException):
        return ""


def log_in(driver: WebDriver, url: str, passcode: str = PASSCODE) -> None:
    """Open ``url`` (the login form shows), type the passcode and submit; back on ``url``."""
    driver.get(url)
    field = driver.find_element(By.NAME, "passcode")
    field.send_keys(passcode)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "meta[name=csrf-token]"), what="logged in")
