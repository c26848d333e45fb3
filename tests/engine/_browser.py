"""Headless Chromium for the timeline: a synthetic mixed run and a screenshot helper.

Shared by ``tests/engine/test_timeline_browser.py`` and ``bench/timeline_demo.py`` so the
picture in the docs is taken exactly the way the test takes it. Uses Debian's ``chromium``
driven by Playwright through ``executable_path`` (``playwright install`` would download a
browser build, which this project never does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from juggler.engine._trace._span import Span, Trace

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import Dialog, Page

if TYPE_CHECKING:
    from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

# Counts, per lane, the canvas pixels painted exactly in each stage's colour (bars are filled
# rectangles, so their inner pixels are exact; anti-aliased edges are not counted).
_COUNT_COLOURS_JS = """
() => {
  const info = window.juggler_timeline;
  const canvas = document.getElementById("timeline");
  const ctx = canvas.getContext("2d");
  const dpr = canvas.width / info.width;
  const wanted = info.colours.map((hex) => [
    parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16),
  ]);
  return info.lanes.map((lane) => {
    const x = Math.round(info.gutter * dpr), y = Math.round(lane.y * dpr);
    const w = Math.round((info.width - info.gutter) * dpr), h = Math.round(lane.h * dpr);
    const px = ctx.getImageData(x, y, w, h).data;
    const counts = wanted.map(() => 0);
    for (let i = 0; i < px.length; i += 4) {
      for (let k = 0; k < wanted.length; k++) {
        const c = wanted[k];
        if (px[i] === c[0] && px[i + 1] === c[1] && px[i + 2] === c[2] && px[i + 3] === 255) {
          counts[k] += 1;
          break;
        }
      }
    }
    return counts;
  });
}
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Shot:
    """What the browser saw.

    Attributes:
        timeline: ``window.juggler_timeline``: lane boxes, spans drawn, stage colours.
        colour_counts: Per lane, per stage: canvas pixels painted in that stage's colour.
        requests: Every URL the page requested (its own file included).
        console_errors: Messages the page logged as errors (a script error shows here).
        dialogs: Messages of any alert/confirm/prompt the page opened (injected script would).
        interaction: What the ``interact`` callback returned (None without one).
    """

    timeline: dict[str, Any]
    colour_counts: list[list[int]]
    requests: list[str]
    console_errors: list[str]
    dialogs: list[str]
    interaction: Any = None


def chromium_available() -> bool:
    """True where Debian's Chromium is installed at ``CHROMIUM``."""
    return os.access(CHROMIUM, os.X_OK)


def in_ci() -> bool:
    """True under ``CI=true`` (GitHub Actions, .ci/run): a missing browser is then a failure."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def needs_chromium() -> Any:
    """Marker for browser tests: skip where Chromium is absent on a developer's machine.

    Under ``CI=true`` the test is never skipped; it fails in :func:`require_chromium` with what
    to install, so a CI image without the browser cannot turn the browser tests green.
    """
    import pytest

    return pytest.mark.skipif(
        not chromium_available() and not in_ci(),
        reason=f"needs Debian's chromium at {CHROMIUM} (under CI=true its absence fails)",
    )


def require_chromium() -> None:
    """Fail the calling test, naming the fix, when Chromium is missing (reached only in CI)."""
    if not chromium_available():
        import pytest

        pytest.fail(f"CI=true and no Chromium at {CHROMIUM}: apt-get install chromium")


def screenshot_timeline(
    html_path: Path,
    png_path: Path | None,
    *,
    width: int = 1400,
    height: int = 800,
    interact: Callable[[Page], Any] | None = None,
) -> Shot:
    """Open a timeline page from disk in headless Chromium, and screenshot it.

    Args:
        html_path: The page (as written by ``write_timeline``).
        png_path: Where to save a full-page PNG; None takes no picture.
        width: Viewport width in CSS pixels.
        height: Viewport height in CSS pixels (the PNG is the full page).
        interact: Called with the page after the picture is taken (hover, zoom...).

    Returns:
        What was drawn and requested, for assertions.
    """
    from playwright.sync_api import sync_playwright

    require_chromium()
    requests: list[str] = []
    errors: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("request", lambda request: requests.append(request.url))
            page.on("dialog", lambda dialog: _dismiss(dialog, dialogs))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "console",
                lambda message: errors.append(message.text) if message.type == "error" else None,
            )
            page.goto(html_path.resolve().as_uri())
            page.wait_for_function("window.juggler_timeline !== undefined", timeout=10_000)
            timeline = page.evaluate("window.juggler_timeline")
            counts = page.evaluate(_COUNT_COLOURS_JS)
            if png_path is not None:
                page.screenshot(path=str(png_path), full_page=True)
            interaction = interact(page) if interact is not None else None
        finally:
            browser.close()
    return Shot(
        timeline=timeline,
        colour_counts=counts,
        requests=requests,
        console_errors=errors,
        dialogs=dialogs,
        interaction=interaction,
    )


def _dismiss(dialog: Dialog, seen: list[str]) -> None:
    # An unanswered alert() would block the page; record it and close it.
    seen.append(dialog.message)
    dialog.dismiss()


def mixed_trace(*, parent_pid: int = 1000, workers: tuple[int, ...] = (2001, 2002)) -> Trace:
    """A small hand-made run: 12 items through fetch (aio), parse (cpu), store (io).

    fetch interleaves all items on the event loop (each waits 80 ms on "the network"); parse
    runs 50 ms per item on two worker processes at once; store takes 20 ms on two threads.
    Item 3's first fetch fails and is retried.
    """
    loop = "event loop"
    spans: list[Span] = []
    fetched: list[tuple[float, int]] = []
    for item in range(12):
        start = item * 0.01
        if item == 3:
            spans.append(_span("fetch", "aio", parent_pid, loop, item, 1, start, 0.03, "error"))
            start += 0.04
            spans.append(_span("fetch", "aio", parent_pid, loop, item, 2, start, 0.08))
        else:
            spans.append(_span("fetch", "aio", parent_pid, loop, item, 1, start, 0.08))
        fetched.append((start + 0.08, item))
    free = dict.fromkeys(workers, 0.0)
    parsed = []
    for ready, item in sorted(fetched):
        pid = min(free, key=lambda p: free[p])
        start = max(ready, free[pid])
        spans.append(_span("parse", "cpu", pid, "worker", item, 1, start, 0.05, queued=ready))
        free[pid] = start + 0.05
        parsed.append((start + 0.05, item))
    threads = {"io-0": 0.0, "io-1": 0.0}
    for ready, item in sorted(parsed):
        name = min(threads, key=lambda t: threads[t])
        start = max(ready, threads[name])
        spans.append(_span("store", "io", parent_pid, name, item, 1, start, 0.02, queued=ready))
        threads[name] = start + 0.02
    wall = max(s.end for s in spans) + 0.005
    return Trace(
        run_id="0123456789abcdef",
        started_at=1_700_000_000.0,
        wall_s=wall,
        parent_pid=parent_pid,
        stages=[("fetch", "aio"), ("parse", "cpu"), ("store", "io")],
        spans=spans,
        loop_lag_ms=[0.1, 0.2, 0.4, 1.5],
    )


def _span(
    stage: str,
    placement: str,
    pid: int,
    lane: str,
    item: int,
    attempt: int,
    start: float,
    duration: float,
    outcome: str = "ok",
    *,
    queued: float | None = None,
) -> Span:
    return Span(
        stage=stage,
        placement=placement,
        pid=pid,
        lane=lane,
        item_id=str(item),
        attempt=attempt,
        queued=start if queued is None else queued,
        start=start,
        end=start + duration,
        outcome=outcome,  # type: ignore[arg-type]
    )
