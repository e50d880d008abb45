"""The dashboard in a real browser: the Streamlit server `make dashboard` runs, on a free
loopback port, and Debian's chromium driven by Playwright (never `playwright install`,
which downloads a browser). A page is opened at the address its menu link gives, and
read once Streamlit says its script has finished running.

Without chromium, or without Playwright, `BrowserUnavailable` says why, so the caller can
skip with exactly that reason; CI installs chromium with .ci/install-package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from leadbridge.paths import REPO_ROOT
from tests.support.postgres import free_loopback_port

APP = REPO_ROOT / "dashboard" / "app.py"
START_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10
# Playwright's unit: milliseconds. A page's first run on a cold cache reads every mart it shows.
RENDER_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1280, "height": 800}
# Streamlit marks its root element with the state of the page's script run.
APP_SETTLED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# An element whose code loads lazily (a chart) stands as a skeleton until it arrives; a
# chart is drawn once Vega has put its marks in.
LOADING = '[data-testid="stSkeleton"]'
UNDRAWN_CHART = '[data-testid="stVegaLiteChart"]:not(:has(.marks))'


class BrowserUnavailable(RuntimeError):
    """No browser can be driven on this machine; the message says why."""


def chromium_executable() -> str:
    """Debian's chromium, with Playwright importable to drive it."""
    try:
        import playwright  # noqa: F401
    except ImportError as error:
        raise BrowserUnavailable(f"Playwright is not installed: {error}") from None
    executable = shutil.which("chromium")
    if executable is None:
        raise BrowserUnavailable(
            "chromium not found on PATH: install Debian's chromium "
            "(as root: .ci/install-package chromium chromium)"
        )
    return executable


@contextmanager
def chromium(executable: str):
    """A headless chromium (as root it needs `--no-sandbox`), closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def dashboard_server(published: Path) -> Iterator[str]:
    """`make dashboard`'s server on a free loopback port, reading the DuckDB publication at
    `published`; yields its address once it answers, and stops it afterwards."""
    env = {**os.environ, "LEADBRIDGE_PUBLISHED": str(published), "LEADBRIDGE_TARGET": "duckdb"}
    with tempfile.TemporaryDirectory(prefix="leadbridge-dashboard-") as work:
        log = Path(work) / "streamlit.log"
        # Another process may take the free port before Streamlit binds it: once more.
        for attempt in range(2):
            url, server = _start(env, log)
            if _wait_until_healthy(server, url):
                break
            _stop(server)
            output = log.read_text(errors="replace")
            if attempt == 1 or "already in use" not in output:
                raise RuntimeError(
                    f"the dashboard did not serve on {url} within {START_TIMEOUT_SECONDS} s "
                    f"(exit {server.returncode}):\n{output[-2000:]}"
                )
        try:
            yield url
        finally:
            _stop(server)


def _start(env: dict[str, str], log: Path) -> tuple[str, subprocess.Popen]:
    port = free_loopback_port()
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP)]
            + ["--server.address", "127.0.0.1", "--server.port", str(port)]
            + ["--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return f"http://127.0.0.1:{port}", server


def _wait_until_healthy(server: subprocess.Popen, url: str) -> bool:
    """Poll Streamlit's health endpoint until it answers, the server exits, or time is up."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as answer:
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    return False


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def open_page(page, url: str, title: str) -> None:
    """Open the page whose menu link reads `title`, as a fresh load of its address, and wait
    until its script has run; fails if the menu has no such link or the page raised."""
    page.goto(url)
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
    link.wait_for(timeout=RENDER_TIMEOUT_MS)
    address = link.get_attribute("href")
    page.goto(address)
    settle(page)
    errors = page.get_by_test_id("stException").all_inner_texts()
    assert not errors, (title, errors)


def settle(page) -> None:
    """Wait until Streamlit has finished running the page's script."""
    page.locator(APP_SETTLED).wait_for(timeout=RENDER_TIMEOUT_MS)


def drawn(page) -> None:
    """Wait until every lazily loaded element has arrived and every chart is drawn."""
    from playwright.sync_api import expect

    for pending in (LOADING, UNDRAWN_CHART):
        expect(page.locator(pending)).to_have_count(0, timeout=RENDER_TIMEOUT_MS)


def type_in(page, text: str) -> None:
    """Type `text` into the page's one text input and submit it, as a person would."""
    field = page.get_by_test_id("stTextInput").locator("input")
    field.fill(text)
    field.press("Enter")


def metric(page, label: str) -> str:
    """The value shown by the one metric labelled exactly `label`, once the run that shows
    it has finished."""
    label_element = page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    boxes = page.get_by_test_id("stMetric").filter(has=label_element)
    value = boxes.get_by_test_id("stMetricValue")
    value.wait_for(timeout=RENDER_TIMEOUT_MS)
    settle(page)
    return value.inner_text().strip()


def screenshot_name(script: str) -> str:
    """`dashboard-<page>.png` for the page script `pages/<page>.py`."""
    return f"dashboard-{Path(script).stem.replace('_', '-')}.png"


def screenshot(page, path: Path) -> Path:
    """The whole page, once drawn, as a PNG at `path`. Streamlit scrolls its main block, not
    the document, so the window is made as tall as that block for the shot."""
    settle(page)
    drawn(page)
    height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(height, VIEWPORT["height"])})
    try:
        page.screenshot(path=str(path), full_page=True, scale="css")
    finally:
        page.set_viewport_size(VIEWPORT)
    return path
