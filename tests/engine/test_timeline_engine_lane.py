"""The worker start-up on the timeline's engine lane, in headless Chromium.

Like the other browser tests: skipped only where Debian's ``chromium`` is absent, and never
under ``CI=true`` (there a missing browser fails the test).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from juggler.engine._trace._html import write_timeline
from juggler.engine._trace._span import POOL_START_UP, Phase
from tests.engine._browser import mixed_trace, needs_chromium, screenshot_timeline

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [
    needs_chromium(),
    pytest.mark.slow,
    pytest.mark.allow_blocking,  # Playwright's sync API runs its own loop in this thread
]


def test_worker_start_up_has_its_own_engine_lane(tmp_path: Path) -> None:
    """The phase the cpu items waited for is drawn first, on a lane of its own, in grey."""
    base = mixed_trace()
    shift = 0.3  # the workers took 0.3 s to start; every cpu item waited for them
    spans = [
        replace(s, start=s.start + shift, end=s.end + shift) if s.placement != "aio" else s
        for s in base.spans
    ]
    trace = replace(
        base,
        spans=spans,
        wall_s=base.wall_s + shift,
        phases=[Phase(name=POOL_START_UP, start=0.0, end=shift)],
    )
    page, png = tmp_path / "run.html", tmp_path / "run.png"
    write_timeline(trace, page)
    shot = screenshot_timeline(page, png)
    assert shot.console_errors == []
    lanes = shot.timeline["lanes"]
    assert lanes[0]["label"] == "engine"
    assert lanes[0]["kind"] == "engine"
    assert shot.timeline["spansDrawn"] == len(trace.spans) + 1
    assert shot.timeline["colours"][-1] == "#8c8c8c"
