"""The HTML memo in headless Chromium: it renders, runs nothing and fetches nothing.

``screenshot_memo`` is shared with ``bench/memo_screenshot.py`` (which makes
``docs/memo.png``), so the picture in the docs is taken exactly as this test takes it. It
reuses Chromium's path, flags and availability check from ``tests/engine/_browser.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.engine._browser import CHROMIUM, CHROMIUM_ARGS, needs_chromium, require_chromium

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Dialog


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoShot:
    """What the browser saw: requests, errors (CSP violations show here), dialogs, DOM facts."""

    requests: list[str]
    console_errors: list[str]
    dialogs: list[str]
    scripts: int
    text: str
    height: int


def screenshot_memo(html_path: Path, png_path: Path | None, *, width: int = 1100) -> MemoShot:
    """Open the memo from disk in headless Chromium and take a full-page PNG."""
    from playwright.sync_api import sync_playwright

    require_chromium()

    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.on("dialog", dismiss)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.goto(html_path.resolve().as_uri())
            page.wait_for_load_state("load")
            facts: dict[str, Any] = page.evaluate(
                "() => ({scripts: document.scripts.length, text: document.body.innerText,"
                " height: document.documentElement.scrollHeight})"
            )
            if png_path is not None:
                page.screenshot(path=str(png_path), full_page=True)
        finally:
            browser.close()
    return MemoShot(
        requests=requests,
        console_errors=errors,
        dialogs=dialogs,
        scripts=int(facts["scripts"]),
        text=str(facts["text"]),
        height=int(facts["height"]),
    )


@pytest.mark.allow_blocking
@needs_chromium()
def test_html_memo_renders_inertly_in_chromium(tmp_path: Path) -> None:
    """Chromium shows the memo, <script> from the log as text; no request but the file itself."""
    from juggler.triage.synth import build_memo
    from juggler.triage.synth.render import render_html

    from .test_memo import sample_triage

    memo = build_memo(sample_triage(), baseline_used=True, timings={"scrape": 0.4})
    html_path = tmp_path / "memo.html"
    html_path.write_text(render_html(memo, timeline_href="timeline.html"), encoding="utf-8")
    png = tmp_path / "memo.png"
    shot = screenshot_memo(html_path, png)
    assert shot.requests == [html_path.resolve().as_uri()]
    assert shot.console_errors == []  # no CSP violation, no script error
    assert shot.dialogs == []
    assert shot.scripts == 0
    assert "<script>alert('x')</script>" in shot.text
    assert "Build failed in step" in shot.text
    assert png.stat().st_size > 10_000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
