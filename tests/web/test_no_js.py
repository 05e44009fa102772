"""The remote with JavaScript switched off: plain forms, post/redirect/get, the state as rendered."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support.polling import wait_until
from tests.web.conftest import WebStage, log_in, text_of


def test_login_and_go_work_without_javascript(web_stage: WebStage, chromium_no_js: WebDriver) -> None:
    driver = chromium_no_js
    log_in(driver, web_stage.url + "/dp")
    assert driver.current_url.endswith("/dp")
    # The script never ran: the live link badge still says what the server wrote.
    assert driver.find_element(By.CSS_SELECTOR, "[data-link]").text == "static"
    driver.find_element(By.CSS_SELECTOR, "form[action='/action/go'] button").click()  # a form POST, then 303
    wait_until(lambda: text_of(driver, "#flash") == "cue 1 'Dim'", what="back on the DP page, cue 1 fired")
    assert driver.current_url.endswith("/dp")
    wait_until(lambda: web_stage.brightness() == 100, what="the wall at Dim's 100 nit")
    driver.find_element(By.CSS_SELECTOR, "form[action='/action/go'] button").click()
    wait_until(lambda: "Cue 2 sunrise — Bright" in text_of(driver, "[data-bind=live_text]"))
    wait_until(lambda: web_stage.brightness() == 1600, what="the wall at Bright's 1600 nit")
    driver.get(web_stage.url + "/script")  # the other pages render whole without a script too
    assert driver.find_element(By.CSS_SELECTOR, "form[action='/action/note'] textarea")
    assert "STOPPED" in driver.find_element(By.CSS_SELECTOR, "[data-bind=rec_text]").text
