"""Shared browser plumbing for the HTML tests: Debian's headless Chromium, network off.

``browser`` is a module-scoped pytest fixture (registered by tests/conftest.py); the page
helpers read what the browser did: the requests it sent (Chrome's performance log) and its console.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

__all__ = [
    "Page",
    "browser_fixture",
    "console_errors",
    "drain",
    "open_page",
    "remote_requests",
    "which",
]


def which(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed: the map's browser tests need Debian's chromium and "
            "chromium-driver; `make debs` (run by `make test`) installs them"
        )
    return path


# Runs before any script of each page: count alert/confirm/prompt calls instead of opening them.
_COUNT_DIALOGS = """
window.__dialogs = 0;
["alert", "confirm", "prompt"].forEach(function (name) {
  window[name] = function () { window.__dialogs += 1; };
});
"""


@pytest.fixture(scope="module", name="browser")
def browser_fixture() -> Iterator[WebDriver]:
    """Headless Chromium that can reach nothing: a refusing proxy, no DNS, and offline mode."""
    options = webdriver.ChromeOptions()
    options.binary_location = which("chromium")
    for arg in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--no-first-run",
        "--disable-background-networking",
        "--proxy-server=http://127.0.0.1:9",  # discard port: every proxied request is refused
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(which("chromedriver")))
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _COUNT_DIALOGS})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        yield driver
    finally:
        driver.quit()


@dataclasses.dataclass
class Page:
    """What the browser did while loading a page."""

    requests: list[str]
    console: list[dict[str, Any]]


def drain(driver: WebDriver) -> Page:
    requests = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            requests.append(message["params"]["request"]["url"])
    return Page(requests=requests, console=driver.get_log("browser"))


def open_page(driver: WebDriver, path: Path) -> Page:
    drain(driver)  # forget what earlier pages did
    driver.get(path.as_uri())
    return drain(driver)


def console_errors(console: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in console if e["level"] in ("SEVERE", "WARNING")]


def remote_requests(requests: list[str]) -> list[str]:
    return [u for u in requests if not u.startswith(("file:", "data:", "about:", "blob:"))]
