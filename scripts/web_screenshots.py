"""Grab the web remote's pages in headless Chromium at phone, tablet and laptop sizes, to PNG.

    python scripts/web_screenshots.py docs        # what `make screenshot` runs: docs/web-<page>-<size>.png

The built-in demo stage runs in this process (its emulators, its looks) with the remote on loopback,
any free port, and a temporary data folder: nothing of the machine shows in a picture. Before the
pictures the stage fires a cue, nudges it, and records two short takes with notes, one circled, so
each page has something to show. Chromium is Debian's (``chromium`` and ``chromium-driver``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Viewport sizes: name -> (width, height, mobile).
SIZES = {"phone": (390, 844, True), "tablet": (1024, 1366, True), "laptop": (1280, 720, False)}
PAGES = ("login", "landing", "dp", "script")
PASSCODE = "demo-stage-remote"
#: True once a page's WebSocket is open (the top bar's badge says "live").
LIVE = "const l = document.querySelector('[data-link]'); return l && l.classList.contains('on')"


def _wait(predicate: Callable[[], object], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"web screenshots: timed out waiting for {what}")
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    """Write ``web-<page>-<size>.png`` for every page and size into the folder given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files (docs/)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    with tempfile.TemporaryDirectory(prefix="stagectl-web-shots-") as tmp:
        os.environ["STAGECTL_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["STAGECTL_SETTINGS_DIR"] = str(Path(tmp) / "settings")
        return _shoot(args.out, Path(tmp))


def _shoot(out: Path, tmp: Path) -> int:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    import lens
    from stagectl.config.load import DEMO_STAGE_TOML, parse_stage
    from stagectl.stage.runner import StageRunner

    text = DEMO_STAGE_TOML.replace('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1:0"')
    config = parse_stage(text, base_dir=Path(lens.__file__).resolve().parent / "data")
    runner = StageRunner(config)
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--hide-scrollbars", f"--user-data-dir={tmp / 'chromium'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        web = runner.stage.web
        if web is None or not web.running:
            raise SystemExit(f"web screenshots: the remote did not start: {runner.stage.status()['web']}")
        url = web.urls[0].rstrip("/")
        _prepare(runner)
        out.mkdir(parents=True, exist_ok=True)
        for size, (width, height, mobile) in SIZES.items():
            driver.delete_all_cookies()
            metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
            driver.get(url + "/")
            driver.save_screenshot(str(out / f"web-login-{size}.png"))
            driver.find_element(By.NAME, "passcode").send_keys(PASSCODE)
            driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
            _wait(lambda: driver.find_elements(By.CSS_SELECTOR, "meta[name=csrf-token]"), "the login")
            for page in PAGES[1:]:
                driver.get(url + ("/" if page == "landing" else f"/{page}"))
                _wait(lambda: driver.execute_script(LIVE), f"the {page} page live")
                time.sleep(0.3)  # a state message or two: the page as a user sees it after a moment
                driver.save_screenshot(str(out / f"web-{page}-{size}.png"))
                print(f"wrote {out / f'web-{page}-{size}.png'}")
    finally:
        driver.quit()
        runner.close()
    return 0


def _prepare(runner: object) -> None:
    """A cue fired and nudged, two takes with notes (the first circled), the third recording."""
    from stagectl.stage.runner import StageRunner

    assert isinstance(runner, StageRunner)
    stage, commands = runner.stage, runner.commands
    _wait(lambda: stage.lighting.latest.looks, "the looks")
    _wait(lambda: all(d["state"] == "up" for d in stage.status()["devices"].values()
                      if d["kind"] != "sacn"), "the processors")

    def on_loop(fn: Callable[[], object]) -> object:
        async def run() -> object:
            return fn()
        return runner.runtime.call_sync(run(), 5.0)

    commands.cue_goto("3").result(5.0)
    on_loop(lambda: stage.actions.fade_time(2.0))
    for scene, shot, note in (("12", "A", "boom dipped in at the end"), ("12", "B", "lovely, print it")):
        commands.record(production="Harbour Lights", scene=scene, shot=shot).result(5.0)
        time.sleep(0.8)
        on_loop(partial(stage.actions.take_note, note))
        time.sleep(0.6)
        commands.stop_take().result(5.0)
    _wait(lambda: stage.recorder.status().last_take_id is not None, "the takes stored")
    first = stage.recorder.status().last_take_id
    assert first is not None
    commands.set_take_flags(first, circled=True).result(5.0)
    on_loop(lambda: stage.actions.nudge("brightness", 1.0 / 3.0))
    commands.record(scene="14", shot="A").result(5.0)
    time.sleep(1.0)


if __name__ == "__main__":
    raise SystemExit(main())
