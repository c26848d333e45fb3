"""Span recording can be switched off: the run is the same, the trace is empty."""

from __future__ import annotations

import juggler
from juggler.testing import run_virtual


async def _double(x: int) -> int:
    return 2 * x


def test_trace_false_records_no_spans_but_runs_the_same() -> None:
    """``Pipeline(trace=False)`` gives the same results and an empty trace."""
    on = run_virtual(juggler.Pipeline(juggler.aio(_double)).run_async(range(10)))
    off = run_virtual(juggler.Pipeline(juggler.aio(_double), trace=False).run_async(range(10)))
    assert on.results == off.results == [2 * x for x in range(10)]
    assert len(on.trace.spans) == 10
    assert off.trace.spans == []
