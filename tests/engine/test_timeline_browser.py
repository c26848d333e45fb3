"""The HTML timeline in headless Chromium: lanes are drawn, nothing is fetched, nothing runs.

Skipped only where Debian's ``chromium`` is absent, and never under ``CI=true`` (there a
missing browser fails the tests). Playwright is a dev dependency, so it is always there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from juggler.engine._trace._html import write_timeline
from juggler.engine._trace._span import Span, Trace
from tests.engine._browser import mixed_trace, needs_chromium, screenshot_timeline

if TYPE_CHECKING:
    from pathlib import Path

    from playwright.sync_api import Page

pytestmark = [
    needs_chromium(),
    pytest.mark.slow,
    pytest.mark.allow_blocking,  # Playwright's sync API runs its own loop in this thread
]


def test_screenshot_shows_every_lane(tmp_path: Path) -> None:
    trace = mixed_trace()
    page, png = tmp_path / "run.html", tmp_path / "run.png"
    write_timeline(trace, page)

    shot = screenshot_timeline(page, png)

    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.console_errors == []
    assert all(url.startswith("file://") for url in shot.requests)  # fetched nothing else
    labels = [lane["label"] for lane in shot.timeline["lanes"]]
    assert labels == ["event loop", "thread io-0", "thread io-1", "process 2001", "process 2002"]
    assert shot.timeline["spansDrawn"] == len(trace.spans)

    fetch, parse, store = range(3)
    loop, thread0, thread1, proc0, proc1 = shot.colour_counts
    # Each lane is painted in its own stage's colour, and only that one.
    assert loop[fetch] > 0
    assert loop[parse] == loop[store] == 0
    assert thread0[store] > 0
    assert thread1[store] > 0
    assert proc0[parse] > 0
    assert proc1[parse] > 0
    assert proc0[fetch] == proc0[store] == 0
    # Interleaving on one lane (several rows) against one row per process.
    rows = [lane["rows"] for lane in shot.timeline["lanes"]]
    assert rows[0] > 1
    assert rows[1:] == [1, 1, 1, 1]
    # The backlog in front of the processes has its own queue lane.
    assert [q["stage"] for q in shot.timeline["queues"]] == ["parse"]


def _hover_and_zoom(page: Page) -> dict[str, Any]:
    info = page.evaluate("window.juggler_timeline")
    box = page.locator("#timeline").bounding_box()
    assert box is not None
    process = info["lanes"][3]
    page.mouse.move(box["x"] + 700, box["y"] + process["y"] + process["h"] / 2)
    tip = page.locator("#tip")
    hovered = tip.inner_text() if tip.is_visible() else ""
    drawn_before = info["spansDrawn"]
    for _ in range(3):
        page.click("#zoom-in")
    zoomed = page.evaluate("window.juggler_timeline.spansDrawn")
    page.click("#zoom-reset")
    return {
        "hovered": hovered,
        "before": drawn_before,
        "zoomed": zoomed,
        "reset": page.evaluate("window.juggler_timeline.spansDrawn"),
    }


def test_hover_shows_details_and_zoom_narrows_the_view(tmp_path: Path) -> None:
    page = tmp_path / "run.html"
    write_timeline(mixed_trace(), page)

    shot = screenshot_timeline(page, None, interact=_hover_and_zoom)

    result = shot.interaction
    assert "parse (cpu)" in result["hovered"]
    assert "lane: process 2001" in result["hovered"]
    assert result["zoomed"] < result["before"]  # fewer spans in an 8x narrower window
    assert result["reset"] == result["before"]
    assert shot.console_errors == []


def test_hostile_stage_names_do_not_run(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    span = Span(
        stage=evil,
        placement="aio",
        pid=1,
        lane="event loop",
        item_id="1",
        attempt=1,
        queued=None,
        start=0.0,
        end=0.5,
        outcome="ok",
    )
    trace = Trace(
        run_id="r",
        started_at=0.0,
        wall_s=1.0,
        parent_pid=1,
        stages=[(evil, "aio")],
        spans=[span],
        loop_lag_ms=[],
    )
    page = tmp_path / "evil.html"
    write_timeline(trace, page)

    shot = screenshot_timeline(page, None)

    assert shot.dialogs == []
    assert shot.console_errors == []
    assert all(url.startswith("file://") for url in shot.requests)  # the <img> never loaded
    assert shot.timeline["spansDrawn"] == 1
