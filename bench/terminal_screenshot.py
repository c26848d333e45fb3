"""Picture of what ``make demo`` prints on a terminal, for the README (offline).

    .venv/bin/python bench/terminal_screenshot.py [--out docs]

Does what ``make demo`` does in a temporary folder (import ``examples/kb.json``, triage
``examples/pytest-gha.log`` once with ``--learn``, then again with its baseline), renders the
terminal summary with rich in colour, exports it as SVG and converts it to ``terminal.png``
with cairosvg (the ``bench`` extra). Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from juggler.triage._terminal import blocks, make_console
from juggler.triage.kb import Resolution, open_store
from juggler.triage.kb._io import load_document, parse_document
from juggler.triage.pipeline import triage

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 118
FONT = "DejaVu Sans Mono"


async def _import(kb: Path) -> None:
    path = str(ROOT / "examples" / "kb.json")
    causes, _ = parse_document(path, load_document(path))
    async with open_store(kb) as store:
        await store.add_causes(causes, replace=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--width", type=int, default=WIDTH, help="terminal columns")
    parser.add_argument("--svg", action="store_true", help="also keep terminal.svg")
    args = parser.parse_args()
    args.out = args.out.resolve()
    try:
        import cairosvg  # type: ignore[import-untyped]
    except ImportError:
        print("cairosvg is not installed (pip install -e '.[bench]')", file=sys.stderr)
        return 1
    os.chdir(ROOT)  # paths in the picture read as in the README: examples/...
    log = Path("examples") / "pytest-gha.log"
    baseline = Path("examples") / "pytest-gha.baseline.log"
    with tempfile.TemporaryDirectory() as tmp:
        kb = Path(tmp) / "kb.sqlite3"
        asyncio.run(_import(kb))
        learned = Resolution(
            cause="price sent as a JSON string; strict float field rejects it",
            fix="declare ItemUpdate.price as Decimal",
        )
        triage([log], kb=kb, project="demo/shop", learn=learned)
        result = triage([log], baseline=[baseline], kb=kb, project="demo/shop")
    console = make_console(color=True, width=args.width, record=True)
    command = f"$ juggler triage {log} --baseline {baseline} --project demo/shop"
    console.print(command, style="bold")
    for line in blocks(result.document):
        console.print(line)
    svg = console.export_svg(title="juggler triage", font_aspect_ratio=0.6)
    # rich's SVG asks for Fira Code from the web; offline, name a local monospace font instead
    # (cairosvg falls back to a proportional one, which breaks the columns).
    svg = svg.replace("font-family: Fira Code, monospace;", f"font-family: {FONT}, monospace;")
    args.out.mkdir(parents=True, exist_ok=True)
    if args.svg:
        (args.out / "terminal.svg").write_text(svg, encoding="utf-8")
    png = args.out / "terminal.png"
    cairosvg.svg2png(bytestring=svg.encode("utf-8"), write_to=str(png), scale=1.5)
    print(f"{png}: {png.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
