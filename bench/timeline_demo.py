"""Run a small mixed pipeline and draw where its time went: HTML timeline, trace JSON, PNG.

    .venv/bin/python bench/timeline_demo.py [--out docs] [--items 24] [--workers 2]
    .venv/bin/python bench/timeline_demo.py --synthetic   # a hand-made trace, no engine run

Writes ``timeline.html`` (open it from disk), ``timeline.json`` (open it in Perfetto or
chrome://tracing) and, where Debian's chromium and Playwright are installed, ``timeline.png``
taken exactly as ``tests/engine/test_timeline_browser.py`` takes its screenshot.

The pipeline makes the seed's point: ``fetch`` waits on "the network" on the event loop (its
items interleave on one lane), ``parse`` burns CPU in worker processes (they overlap across
process lanes), ``store`` blocks a thread.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

# For tests.engine._browser: the screenshot is taken exactly as the browser test takes it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine._browser import chromium_available, mixed_trace, screenshot_timeline

import juggler
from juggler.engine._trace._chrome import write_chrome_trace
from juggler.engine._trace._html import write_timeline
from juggler.engine._trace._metrics import compute_metrics

ROOT = Path(__file__).resolve().parent.parent


async def fetch(item: int) -> int:
    await asyncio.sleep(0.05)  # a network call: the loop runs other items meanwhile
    return item


def parse(item: int) -> int:
    """About 30 ms of pure-Python CPU work (holds the GIL: only processes run it in parallel)."""
    deadline = time.thread_time() + 0.03
    acc = item
    while time.thread_time() < deadline:
        for i in range(200):
            acc = (acc * 31 + i) % 1_000_003
    return acc


def store(item: int) -> int:
    time.sleep(0.01)  # a blocking write
    return item


def run_pipeline(items: int, workers: int) -> juggler.RunReport:
    pipeline = juggler.Pipeline(
        juggler.aio(fetch, concurrency=16),
        juggler.cpu(parse),
        juggler.io(store, concurrency=2),
        workers=workers,
    )
    return pipeline.run(range(items))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs"), help="output folder")
    parser.add_argument("--items", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--synthetic", action="store_true", help="draw a hand-made trace")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trace = mixed_trace() if args.synthetic else run_pipeline(args.items, args.workers).trace
    if not trace.spans:
        sys.exit("the run recorded no spans: is span recording wired into the run loop?")

    metrics = compute_metrics(trace)
    write_timeline(trace, out / "timeline.html", metrics=metrics)
    write_chrome_trace(trace, out / "timeline.json")
    print(f"wrote {out / 'timeline.html'} and {out / 'timeline.json'}")
    path = metrics.critical_path
    print(
        f"wall {trace.wall_s:.3f} s, critical path {path.length_s:.3f} s ({path.ratio:.0%}), "
        f"{len(trace.spans)} spans"
    )
    for lane in metrics.lanes:
        print(
            f"  {lane.label:<24} busy {lane.utilisation:4.0%}  in flight {lane.mean_in_flight:.2f}"
        )

    if chromium_available():
        shot = screenshot_timeline(out / "timeline.html", out / "timeline.png", width=1200)
        print(f"wrote {out / 'timeline.png'} ({shot.timeline['spansDrawn']} spans drawn)")
    else:
        print("no /usr/bin/chromium: skipped timeline.png (apt-get install chromium)")


if __name__ == "__main__":
    main()
