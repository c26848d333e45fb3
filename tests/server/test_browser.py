"""The real page in Debian's Chromium (Playwright): upload by drag and drop, watch the run,
read the findings, learn the cause, find it in the KB; an XSS probe; the docs' screenshots.

Under CI=true a missing Chromium or Playwright fails the test rather than skipping it.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._live import big_log, failing_log, require, serving

try:
    from playwright.sync_api import Error as PlaywrightError
except ImportError:  # reported by _playwright(): a failure under CI=true
    PlaywrightError = Exception  # type: ignore[misc,assignment]

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"
pytestmark = [pytest.mark.timeout(240), pytest.mark.slow, pytest.mark.allow_blocking]

_DROP_JS = """
([selector, name, text]) => {
  const zone = document.querySelector(selector);
  const data = new DataTransfer();
  data.items.add(new File([text], name, {type: "text/plain"}));
  zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: data, bubbles: true}));
  zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
}
"""


class Browser:
    """One Chromium, its page, and everything the page complained about."""

    def __init__(self, playwright: Any, width: int) -> None:
        self.browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page: Page = self.browser.new_page(viewport={"width": width, "height": 900})
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        self.browser.close()


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("playwright", False)
        raise
    require(CHROMIUM, os.path.exists(CHROMIUM))
    return sync_playwright()


def _drop_and_triage(page: Page, url: str, name: str, text: str, project: str) -> str:
    page.goto(url + "/")
    page.evaluate(_DROP_JS, ["[data-drop=log]", name, text])
    assert name[:10] in page.inner_text("[data-drop=log] [data-chosen]")
    page.fill("input[name=project]", project)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/[0-9a-f]{32}$"))
    return page.url.rsplit("/", 1)[1]


def _progress_seen(page: Page) -> bool:
    """Watch the status line until the server's progress events show in it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = page.locator("[data-status]")
        try:
            if status.count() and "Running for" in status.inner_text(timeout=1000):
                return True
        except PlaywrightError:
            pass  # the page reloaded between count() and inner_text()
        if page.locator("header.run[data-state=done]").count():
            return False
        time.sleep(0.05)
    return False


def _wait_done(page: Page) -> None:
    page.wait_for_selector("header.run[data-state=done]", timeout=120_000)


def test_upload_watch_findings_learn_and_search(tmp_path: Path) -> None:
    with _playwright() as playwright:
        for server in serving(tmp_path, "--workers", "2"):
            browser = Browser(playwright, 1400)
            try:
                page = browser.page
                # A log that takes a moment, so progress can be seen arriving.
                slow = big_log(12).decode() + failing_log("tests/test_pay.py::test_refund").decode()
                _drop_and_triage(page, server.url, "pay-build.log", slow, "acme/shop")
                assert _progress_seen(page), "no live progress arrived before the run ended"
                _wait_done(page)
                finding = page.locator("article.finding").first
                assert "tests/test_" in page.inner_text("main")
                numbers = finding.locator("td.ln").all_inner_texts()
                assert numbers
                assert all(n.isdigit() for n in numbers)
                assert [int(n) for n in numbers] == list(
                    range(int(numbers[0]), int(numbers[0]) + len(numbers))
                )
                page.fill("form.learn input[name=cause]", "payment sandbox rate-limited CI")
                page.fill("form.learn input[name=fix]", "use the recorded cassette")
                page.fill("form.learn input[name=link]", "https://example.org/acme/shop/pull/42")
                page.click("form.learn button")
                page.wait_for_url(re.compile(r"learned=1"))
                page.goto(server.url + "/kb?q=" + "test_refund assert 502")
                assert "payment sandbox rate-limited CI" in page.inner_text("main")
                # The same failure again now recalls what was learned.
                _drop_and_triage(
                    page,
                    server.url,
                    "pay-build-2.log",
                    failing_log("tests/test_pay.py::test_refund").decode(),
                    "acme/shop",
                )
                _wait_done(page)
                assert "payment sandbox rate-limited CI" in page.inner_text("aside")
                assert browser.dialogs == []
                assert browser.errors == []
            finally:
                browser.close()


def test_xss_probe_runs_no_script(tmp_path: Path) -> None:
    nasty = "\n".join(
        [
            "<script>alert('log')</script>",
            "ERROR: <img src=x onerror=alert('img')> failed",
            "see javascript:alert('link') and <a href=\"javascript:alert('a')\">here</a>",
            "\x1b]0;pwned title\x07\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b[31mERROR\x1b[0m: red text",
            "::add-mask::secret ::error::injected",
            "E   AssertionError: </td></tr></table><script>alert('break')</script>",
        ]
    )
    log = failing_log(extra=nasty, inside=tuple(nasty.split("\n"))).decode()
    with _playwright() as playwright:
        for server in serving(tmp_path):
            browser = Browser(playwright, 1400)
            try:
                page = browser.page
                run_id = _drop_and_triage(
                    page, server.url, "<img src=x onerror=alert('name')>.log", log, "acme/xss"
                )
                _wait_done(page)
                text = page.inner_text("main")
                assert "<script>alert('log')</script>" in text  # shown as text
                assert "\x1b" not in page.content()
                assert page.locator("a[href^='javascript:']").count() == 0
                assert page.locator("main script, main img").count() == 0
                page.goto(f"{server.url}/api/v1/runs/{run_id}/memo.html")
                page.goto(f"{server.url}/history")
                page.goto(f"{server.url}/kb")
                assert browser.dialogs == []
                assert browser.errors == []
            finally:
                browser.close()


def _shots(page: Page, url: str, run_id: str, suffix: str) -> None:
    page.goto(url + "/")
    page.screenshot(path=str(DOCS / f"serve-upload-{suffix}.png"), full_page=False)
    page.goto(f"{url}/runs/{run_id}")
    page.wait_for_timeout(800)  # the timeline frame draws its canvas
    page.screenshot(path=str(DOCS / f"serve-run-{suffix}.png"), full_page=False)
    page.goto(url + "/kb")
    page.screenshot(path=str(DOCS / f"serve-kb-{suffix}.png"), full_page=False)


def test_screenshots_for_the_docs(tmp_path: Path) -> None:
    """docs/serve-*.png, taken by this browser at 1400 and 390 px."""
    with _playwright() as playwright:
        for server in serving(tmp_path, "--workers", "2"):
            browser = Browser(playwright, 1400)
            try:
                page = browser.page
                for name, test, project in (
                    ("api-tests.log", "tests/test_api.py::test_login", "acme/web"),
                    ("nightly.log", "tests/test_sync.py::test_retry", "acme/worker"),
                ):
                    _drop_and_triage(page, server.url, name, failing_log(test).decode(), project)
                    _wait_done(page)
                for cause, fix, link in (
                    (
                        "login proxy answered 502 during deploy",
                        "retry after the deploy window",
                        "https://example.org/acme/web/issues/87",
                    ),
                    (
                        "sync worker retries against a stale lock",
                        "clear the lock table first",
                        "https://example.org/acme/worker/issues/311",
                    ),
                ):
                    page.fill("form.learn input[name=cause]", cause)
                    page.fill("form.learn input[name=fix]", fix)
                    page.fill("form.learn input[name=link]", link)
                    page.click("form.learn button")
                    page.wait_for_url(re.compile(r"learned=1"))
                run_id = _drop_and_triage(
                    page,
                    server.url,
                    "main-build.log",
                    failing_log("tests/test_sync.py::test_retry").decode(),
                    "acme/worker",
                )
                _wait_done(page)
                _shots(page, server.url, run_id, "1400")
                page.set_viewport_size({"width": 390, "height": 844})
                _shots(page, server.url, run_id, "390")
                assert browser.errors == []
            finally:
                browser.close()
    for name in ("upload", "run", "kb"):
        for width in ("1400", "390"):
            assert (DOCS / f"serve-{name}-{width}.png").stat().st_size > 10_000
