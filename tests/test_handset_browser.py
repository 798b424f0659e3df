"""The handset in a real browser: headless Chromium from Debian's packages, driven by Selenium with Debian's
chromedriver (no download at run time), against ``gateway demo --web`` as a process (simulator, gateway and a
demo ledger; real SMPP between them). Typed into the page: 102, then *100# walked to the balance; the
conversation recorded on the page is replayed by ``gateway converse``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait
from support.process import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
BALANCE = "您好，您的账户余额为78.90元，其中现金余额58.90元，赠送余额20.00元"


TOKEN = "console-test-token-0123456789"


@pytest.fixture(scope="module")
def console_token() -> str:
    return TOKEN


@pytest.fixture(scope="module")
def handset_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["TMPDIR"] = str(tmp_path_factory.mktemp("demo"))
    env["GATEWAY_HTTP__TOKENS"] = TOKEN
    demo = subprocess.Popen(
        [sys.executable, "-m", "gateway", "demo", "--web"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        first = demo.stdout.readline()
        found = re.search(r"http://127\.0\.0\.1:\d+/console/handset", first)
        assert found, first
        yield found.group(0)
    finally:
        demo.send_signal(signal.SIGTERM)
        code = demo.wait(timeout=30)
        if demo.stdout is not None:
            demo.stdout.close()
        assert code == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    try:
        yield driver
    finally:
        driver.quit()


def opened(browser: WebDriver, url: str) -> WebDriverWait[WebDriver]:
    browser.get(url)
    wait = WebDriverWait(browser, 15)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    Select(browser.find_element(By.ID, "subscriber")).select_by_value("13800138000")
    return wait


def typed(browser: WebDriver, text: str) -> None:
    field = browser.find_element(By.ID, "input")
    field.send_keys(text)
    browser.find_element(By.ID, "send").click()


def answers(browser: WebDriver) -> list[str]:
    return [b.text.rsplit("\n", 1)[0] for b in browser.find_elements(By.CSS_SELECTOR, ".bubble.mt")]


def value(field: WebElement) -> str:
    """A textarea's value (Selenium types ``get_attribute`` as maybe None; a textarea always has one)."""
    text = field.get_attribute("value")
    assert text is not None
    return text


def test_102_typed_into_the_handset_is_answered_on_the_page(handset_url: str, browser: WebDriver) -> None:
    wait = opened(browser, handset_url)
    typed(browser, "102")
    wait.until(lambda d: answers(d))
    assert answers(browser)[0].startswith(BALANCE)
    assert [b.text.rsplit("\n", 1)[0] for b in browser.find_elements(By.CSS_SELECTOR, ".bubble.mo")] == ["102"]
    # beside the phone, the ledger of the subscriber
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-field=balance]").text == "78.90元")
    assert "GPRS10元包" in browser.find_element(By.CSS_SELECTOR, "[data-field=packages]").text


def test_star_100_hash_walked_to_the_balance(handset_url: str, browser: WebDriver) -> None:
    wait = opened(browser, handset_url)
    screen = browser.find_element(By.ID, "screen")
    typed(browser, "*100#")
    wait.until(lambda d: "1 话费查询" in screen.text)
    assert screen.text.splitlines()[0] == "中国移动自助服务"
    typed(browser, "1")
    wait.until(lambda d: "会话结束" in screen.text)
    assert screen.text.startswith(BALANCE)
    assert answers(browser) == []  # USSD screens are not SMS


def test_a_conversation_recorded_on_the_handset_is_replayed_by_gateway_converse(
    handset_url: str, browser: WebDriver, tmp_path: Path
) -> None:
    wait = opened(browser, handset_url)
    Select(browser.find_element(By.ID, "service")).select_by_value("10001")
    browser.find_element(By.ID, "record").click()
    script = browser.find_element(By.ID, "script")
    wait.until(lambda d: "subscriber 13800138000" in value(script))
    typed(browser, "102")
    wait.until(lambda d: len(answers(d)) == 1)
    typed(browser, "*100#")
    wait.until(lambda d: "< CON 中国移动自助服务" in value(script))
    typed(browser, "4")
    wait.until(lambda d: "< END" in value(script))
    browser.find_element(By.ID, "record").click()
    wait.until(lambda d: d.find_element(By.ID, "download").is_displayed())
    text = value(script)
    assert "> 102\n< " + BALANCE in text and "dial *100#\n< CON 中国移动自助服务\n      1 话费查询" in text
    assert "> 4\n< END 您好，您当前的积分为1286分。" in text
    path = tmp_path / "recorded.conv"
    path.write_text(text, encoding="utf-8")
    if os.environ.get("HANDSET_SCREENSHOT"):  # the picture in the README: HANDSET_SCREENSHOT=docs/handset.png
        browser.save_screenshot(os.environ["HANDSET_SCREENSHOT"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    replayed = subprocess.run(
        [sys.executable, "-m", "gateway", "converse", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (replayed.returncode, replayed.stdout.count("PASS")) == (0, 1), replayed.stdout + text


def test_the_console_shows_live_figures_that_move_under_a_short_load(
    handset_url: str, console_token: str, browser: WebDriver
) -> None:
    console = handset_url.replace("/console/handset", "/console")
    browser.get(console)
    wait = WebDriverWait(browser, 15)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    browser.find_element(By.ID, "token").send_keys(console_token)
    browser.find_element(By.ID, "connect").click()
    answered = '[data-figure="mos_answered"] b'
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, answered).text.isdigit())
    before = int(browser.find_element(By.CSS_SELECTOR, answered).text)
    send = handset_url.replace("/console/handset", "/console/api/send")
    for n in range(20):  # the load: twenty 102s from the handset API, from four of the demo people
        who = ("13900139000", "13600136000", "13700137000", "15800158000")[n % 4]
        body = json.dumps({"msisdn": who, "service": "10086", "text": "102"}).encode()
        request = urllib.request.Request(send, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200, n
    wait.until(lambda d: int(d.find_element(By.CSS_SELECTOR, answered).text) >= before + 20)
    assert browser.find_element(By.CSS_SELECTOR, ".bind.up").text == "transceiver bound"
    assert re.fullmatch(r"\d+(\.\d)?", browser.find_element(By.CSS_SELECTOR, '[data-figure="p99"] b').text)
    page = browser.find_element(By.TAG_NAME, "body").text
    assert not re.search(r"1[3-9]\d{9}", page)  # no phone number unmasked
    if os.environ.get("CONSOLE_SCREENSHOT"):
        browser.save_screenshot(os.environ["CONSOLE_SCREENSHOT"])


def test_the_console_figures_need_the_admin_token(handset_url: str) -> None:
    live = handset_url.replace("/console/handset", "/console/api/live")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(live, timeout=10)
    refused.value.close()
    assert refused.value.code == 401
