"""The remote in a real browser (headless Chromium, JavaScript on) against a running stage."""

from __future__ import annotations

import time

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from stagectl.takes.committer import JOURNAL_DIR
from stagectl.takes.store import TakeStore
from tests.support.desk import Desk
from tests.support.polling import wait_until
from tests.web.conftest import WebStage, log_in, text_of


def _click(driver: WebDriver, selector: str) -> bool:
    """Click the element at ``selector``; False when the page replaced it meanwhile (try again)."""
    try:
        driver.find_element(By.CSS_SELECTOR, selector).click()
    except (StaleElementReferenceException, NoSuchElementException):
        return False
    return True


def _live(driver: WebDriver) -> bool:
    script = "return document.querySelector('[data-link]').classList.contains('on')"
    return bool(driver.execute_script(script))


def test_go_on_the_dp_page_fades_the_tessera(web_stage: WebStage, chromium: WebDriver) -> None:
    log_in(chromium, web_stage.url + "/dp")
    assert chromium.current_url.endswith("/dp")
    wait_until(lambda: _live(chromium), what="the page's WebSocket open")
    go = chromium.find_element(By.CSS_SELECTOR, "form[action='/action/go'] button")
    go.click()  # cue 1: Dim, no fade
    wait_until(lambda: web_stage.brightness() == 100, what="the wall at Dim's 100 nit")
    wait_until(lambda: "Dim" in chromium.find_element(By.CSS_SELECTOR, "[data-bind=live_text]").text)
    seen: list[object] = []

    def bright() -> bool:
        seen.append(web_stage.brightness())
        return seen[-1] == 1600

    go.click()  # cue 2: Bright over 1.5 s
    wait_until(bright, what="the wall at Bright's 1600 nit")
    between = [v for v in seen if isinstance(v, int | float) and 100 < v < 1600]
    assert between, f"the brightness jumped instead of fading: {seen}"
    assert between == sorted(between), f"the fade went back and forth: {between}"
    text = chromium.find_element(By.CSS_SELECTOR, "[data-bind=live_text]").text
    assert "Cue 2 sunrise" in text and "Bright" in text, text


def test_a_change_from_osc_control_in_shows_on_the_page(web_stage: WebStage, chromium: WebDriver) -> None:
    chromium.get(web_stage.url + "/dp")
    wait_until(lambda: _live(chromium), what="the page's WebSocket open")
    figures = []
    with Desk(web_stage.osc_port) as desk:
        for look in ("Dim", "Bright", "Dim"):
            before = chromium.execute_script("return window.stagectlStamps.live_text || 0")
            sent_ms = time.time() * 1000.0
            assert desk.send(f"/stagectl/look/{look}/recall")[1] == "ok"
            stamp = wait_until(lambda b=before: (s := chromium.execute_script(
                "return window.stagectlStamps.live_text || 0")) != b and s, what=f"{look} on the page")
            assert chromium.find_element(By.CSS_SELECTOR, "[data-bind=live_text]").text == look
            figures.append(stamp - sent_ms)
    print(f"OSC recall -> page DOM changed after {', '.join(f'{f:.1f}' for f in figures)} ms")
    assert all(f > 0 for f in figures), figures  # the page changed after the send, never before
    assert max(figures) < 1000.0, figures  # generous: the remote promises 100 ms (see docs/web.md)


def test_a_note_typed_on_the_phone_page_is_in_the_take(web_stage: WebStage, chromium: WebDriver) -> None:
    runner = web_stage.runner
    chromium.set_window_size(390, 844)
    chromium.get(web_stage.url + "/script")
    wait_until(lambda: _live(chromium), what="the page's WebSocket open")
    name = runner.commands.record(scene="12", shot="A").result(5.0)
    wait_until(lambda: "RECORDING" in chromium.find_element(By.CSS_SELECTOR, "[data-bind=rec_text]").text)
    timecode = chromium.find_element(By.CSS_SELECTOR, "[data-bind=timecode_text]")
    first = timecode.text
    wait_until(lambda: timecode.text != first, what="the running timecode")
    chromium.find_element(By.NAME, "text").send_keys("boom in the top of frame")
    chromium.find_element(By.CSS_SELECTOR, "form[action='/action/note'] button").click()
    wait_until(lambda: chromium.find_element(By.ID, "flash").text == "note added")
    assert chromium.find_element(By.NAME, "text").get_attribute("value") == ""
    runner.commands.stop_take().result(5.0)
    journals = runner.stage.recorder.folder / JOURNAL_DIR
    wait_until(lambda: runner.stage.recorder.status().last_take == name and not any(journals.iterdir()),
               what="the take committed", detail=lambda: runner.stage.recorder.status())
    with TakeStore(runner.stage.recorder.folder, readonly=True) as store:
        take = store.find(name)
        notes = [e for e in store.log(take) if e.kind == "note"]
        info = store.info(take)
    assert [n.text for n in notes] == ["boom in the top of frame"]
    note = notes[0]
    assert note.timecode is not None and info.tc_in is not None and info.tc_out is not None
    assert info.tc_in.frames <= note.timecode.frames <= info.tc_out.frames
    chromium.set_window_size(1024, 1366)


def test_circle_a_take_on_the_page(web_stage: WebStage, chromium: WebDriver) -> None:
    runner = web_stage.runner
    if runner.stage.recorder.status().last_take_id is None:  # run alone: record one
        runner.commands.record(scene="12", shot="B").result(5.0)
        runner.commands.stop_take().result(5.0)
    take_id = runner.stage.recorder.status().last_take_id
    assert take_id is not None
    chromium.get(web_stage.url + "/script")
    selector = f"li[data-take='{take_id}'] form[action='/action/flag'] button.flag:not(.ng)"
    wait_until(lambda: text_of(chromium, selector) == "Circle", what="the take listed, not circled")
    wait_until(lambda: _click(chromium, selector), what="the Circle button pressed")
    with_folder = runner.views.latest.takes.folder  # where the Takes dock reads the store
    assert with_folder is not None

    def circled() -> bool:
        with TakeStore(with_folder, readonly=True) as store:
            return store.info(take_id).circled

    wait_until(circled, what="the take circled in the store")
    wait_until(lambda: text_of(chromium, selector) == "Circled", what="the page showing it circled")
