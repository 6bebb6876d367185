"""Browser fixtures: Playwright's sync API driving Debian's Chromium (never a downloaded browser).

Chromium comes from `apt-get install -y chromium` (or `FRONTDESK_CHROMIUM=/path/to/chromium`). Without
it these tests fail, on purpose: the web apps are only tested in a real browser.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Dialog, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


expect.set_options(timeout=10_000)  # a loaded CI machine (the whole suite runs at once) is slow


def chromium_path() -> str:
    path = os.environ.get("FRONTDESK_CHROMIUM") or shutil.which("chromium")
    if not path or not os.path.exists(path):
        pytest.fail(
            "Chromium is required for the browser tests: install Debian's package with "
            "`apt-get install -y chromium` (or set FRONTDESK_CHROMIUM to a Chromium binary). "
            "Never `playwright install`.",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope, not session: the sync API keeps an event loop running in this thread until it
    # stops, and later tests that call asyncio.run() must not see it.
    executable = chromium_path()
    with sync_playwright() as p:
        # launch() gives the browser a fresh temporary user-data-dir, removed on close.
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


class Pages:
    """Isolated browser contexts (own cookies and sessionStorage), each recording dialogs and errors."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []

    def new(self, name: str, width: int = 1280, height: int = 800) -> Page:
        ctx = self.browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
        ctx.set_default_timeout(10_000)
        self.contexts.append(ctx)
        page = ctx.new_page()

        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{name}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda exc: self.errors.append(f"{name}: {exc}"))
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()


@pytest.fixture
def pages(browser: Browser) -> Iterator[Pages]:
    p = Pages(browser)
    yield p
    p.close()


@pytest.fixture
def shot() -> Callable[[Page, str], None]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str) -> None:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    return take
