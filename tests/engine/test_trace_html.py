"""The HTML timeline without a browser: self-contained, escaped, carrying the right data."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from juggler.engine._trace._html import render_timeline, write_timeline
from juggler.engine._trace._span import Span, Trace
from tests.engine._browser import mixed_trace

if TYPE_CHECKING:
    from pathlib import Path

EVIL = "<script>alert(1)</script>"


def _data(page: str) -> dict[str, Any]:
    match = re.search(
        r'<script type="application/json" id="timeline-data">(.*?)</script>', page, re.S
    )
    assert match is not None
    return dict(json.loads(match.group(1)))


def _trace_with(stage: str, lane: str = "io-0") -> Trace:
    spans = [
        Span(
            stage=stage,
            placement="io",
            pid=1,
            lane=lane,
            item_id="1",
            attempt=1,
            queued=0.0,
            start=0.0,
            end=1.0,
            outcome="ok",
        )
    ]
    return Trace(
        run_id="r",
        started_at=0.0,
        wall_s=1.0,
        parent_pid=1,
        stages=[(stage, "io")],
        spans=spans,
        loop_lag_ms=[],
    )


def test_page_is_self_contained() -> None:
    page = render_timeline(mixed_trace())
    assert "http" not in page.lower()
    assert "//" not in re.sub(r"<script>.*?</script>", "", page, flags=re.S)  # no URLs in markup
    for fetching in ("<link", "<img", "<iframe", " src=", "@import", "url(", "fetch(", "XMLHttp"):
        assert fetching not in page


def test_page_stays_free_of_url_schemes_whatever_the_stage_names() -> None:
    page = render_timeline(_trace_with("HTTP fetch of http://example", lane="http-pool"))
    assert "http" not in page.lower()
    stages = _data(page)["stages"]
    assert stages[0][0] == "HTTP fetch of http://example"  # the data itself is intact


def test_stage_names_are_escaped() -> None:
    page = render_timeline(_trace_with(EVIL))
    assert EVIL not in page
    assert "alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # legend and stage table
    assert page.count("</script>") == 2  # the data block and the page's own script
    assert _data(page)["stages"][0][0] == EVIL


def test_data_block_cannot_close_its_script_element() -> None:
    page = render_timeline(_trace_with("a</script><!--b"))
    block = page.split('id="timeline-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block
    assert ">" not in block
    assert "&" not in block


def test_data_carries_lanes_spans_and_the_critical_path() -> None:
    trace = mixed_trace()
    data = _data(render_timeline(trace))
    labels = [lane["label"] for lane in data["lanes"]]
    assert labels == ["event loop", "thread io-0", "thread io-1", "process 2001", "process 2002"]
    assert len(data["spans"]) == len(trace.spans)
    loop = data["lanes"][0]
    assert loop["kind"] == "loop"
    assert loop["rows"] > 1  # aio items interleave: several in flight at once
    assert all(lane["rows"] == 1 for lane in data["lanes"][1:])  # one at a time elsewhere
    on_path = [i for i, s in enumerate(data["spans"]) if s[9]]
    assert on_path == sorted(data["path"])
    # parse bounds the run: the path queues through one worker (items 1, 4, 6, 7, 9, 11).
    assert [trace.spans[i].item_id for i in data["path"]] == [
        "1",
        "1",
        "4",
        "6",
        "7",
        "9",
        "11",
        "11",
    ]


def test_page_shows_utilisation_and_stage_metrics() -> None:
    page = render_timeline(mixed_trace(), title="demo")
    assert "<h1>demo</h1>" in page
    assert "Utilisation per lane" in page
    assert "process 2001" in page
    assert "12/12" in page  # items done per stage
    assert "critical path" in page


def test_empty_trace_renders() -> None:
    trace = Trace(
        run_id="r", started_at=0.0, wall_s=0.0, parent_pid=1, stages=[], spans=[], loop_lag_ms=[]
    )
    data = _data(render_timeline(trace))
    assert data["spans"] == []
    assert [lane["label"] for lane in data["lanes"]] == ["event loop"]


def test_write_timeline(tmp_path: Path) -> None:
    path = tmp_path / "run.html"
    write_timeline(mixed_trace(), path)
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["run.html"]
