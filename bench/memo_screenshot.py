"""Triage an example log, render the HTML memo, and screenshot it for the docs.

    .venv/bin/python bench/memo_screenshot.py [--out docs] [--log examples/pytest-gha.log]

Writes ``memo.png`` (and keeps ``memo.html`` beside it with ``--keep-html``). The picture is
taken by ``tests/triage/test_memo_browser.py``'s helper, exactly as the test takes it, with
Debian's chromium; without it the script says so and exits 1. Offline: the known causes and
the similar incident shown come from ``examples/kb.json`` and a hand-made record, not a
network call.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

# For tests.triage.test_memo_browser: the screenshot is taken exactly as the test takes it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.engine._browser import chromium_available
from tests.triage.test_memo_browser import screenshot_memo

from juggler.triage._findings import baseline_keys, scan_chunk
from juggler.triage.kb._match import match_causes
from juggler.triage.kb._model import Cause
from juggler.triage.pipeline import Scanned, merge_log
from juggler.triage.synth import build_memo
from juggler.triage.synth.render import render_html

ROOT = Path(__file__).resolve().parent.parent


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--log", type=Path, default=ROOT / "examples" / "pytest-gha.log")
    parser.add_argument(
        "--baseline", type=Path, default=ROOT / "examples" / "pytest-gha.baseline.log"
    )
    parser.add_argument("--keep-html", action="store_true")
    args = parser.parse_args()
    if not chromium_available():
        print("chromium not found at /usr/bin/chromium: no screenshot taken", file=sys.stderr)
        return 1
    lines = _lines(args.log)
    baseline = [_lines(args.baseline)] if args.baseline.exists() else []
    # The pipeline's own merge step, so findings carry their novelty against the baseline.
    keys = baseline_keys(baseline) if baseline else None
    scan = scan_chunk(lines, offset=0, baseline=keys)
    _, triage = merge_log(Scanned(source=args.log.name, scan=scan, causes=()))
    causes = [Cause.from_json(c) for c in json.loads((ROOT / "examples/kb.json").read_text())]
    triage["causes"] = [m.to_json() for m in match_causes(lines, causes)]
    triage["similar_incidents"] = [
        {
            "score": 0.0312,
            "similarity": 0.92,
            "project": "acme/inventory-api",
            "cause": "Price sent as a JSON string rejected by a float field in strict mode",
            "fix": "Declare price as Decimal in ItemUpdate",
            "link": "https://github.com/acme/inventory-api/pull/118",
            "when": "2026-09-14",
        }
    ]
    memo = build_memo(
        triage,
        baseline_used=bool(baseline),
        timings={"ingest": 0.004, "scrape": 0.021, "analyse": 0.002, "retrieve": 0.015},
    )
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        html_path = (args.out if args.keep_html else Path(tmp)) / "memo.html"
        html_path.write_text(render_html(memo, timeline_href="timeline.html"), encoding="utf-8")
        shot = screenshot_memo(html_path, args.out / "memo.png")
    print(f"{args.out / 'memo.png'}: {shot.height} px tall, {len(shot.requests)} request(s)")
    return 0 if not shot.console_errors else 1


if __name__ == "__main__":
    sys.exit(main())
