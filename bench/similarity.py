"""What the similarity of past incidents reads on real logs: the same log, its kin, strangers.

    .venv/bin/python bench/similarity.py [--json out.json]

Every LogChunks log (failed Travis builds of 56 repositories) is learned as an incident of its
repository in a fresh knowledge base, then each log searches it. For each query this tallies
the similarity (``SimilarIncident.similarity``, shown as a percentage) of:

* itself (must read 100%: an identical failure);
* the most similar other log of the same repository whose failure the labeller put in the same
  category (the same kind of failure, though not always the same cause);
* the most similar log of another repository (a stranger: any similarity there is chance).

The terminal lists a past incident under "Seen before" only from ``WEAK_MATCH`` up; the tables
show how often each kind of match clears that bar and others, and which bar best tells kin from
strangers when each repository in turn is left out of the choice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table
from juggler.triage._findings import find_failures
from juggler.triage.kb import Incident, Resolution, open_store, signature_of
from juggler.triage.synth._model import WEAK_MATCH

DATA = next(
    (
        p / "shared" / "data" / "ci" / "logchunks"
        for p in Path(__file__).resolve().parents[1:4]
        if (p / "shared" / "data" / "ci" / "logchunks").is_dir()
    ),
    Path("../shared/data/ci/logchunks"),
)
_K = 40


async def _measure(data: Path) -> tuple[dict[str, list[float]], list[tuple[str, str, float]]]:
    rows = [json.loads(line) for line in (data / "labels.jsonl").read_text().splitlines()]
    signatures = []
    for row in rows:
        lines = (data / row["log"]).read_bytes().decode("utf-8", errors="replace").split("\n")
        signatures.append(signature_of(find_failures(lines, path=row["log"])))
    found: dict[str, list[float]] = {"itself": [], "same repo and category": [], "stranger": []}
    labelled: list[tuple[str, str, float]] = []  # (query's repo, "kin" or "stranger", best)
    with tempfile.TemporaryDirectory() as tmp:
        async with open_store(Path(tmp) / "kb.sqlite3") as store:
            ids = await store.add_incidents(
                Incident(
                    signature=sig,
                    resolution=Resolution(cause=f"{row['repo']} #{row['category']}"),
                    project=row["repo"],
                    source=row["log"],
                )
                for row, sig in zip(rows, signatures, strict=True)
            )
            by_id = dict(zip(ids, rows, strict=True))
            for row, sig in zip(rows, signatures, strict=True):
                results = await store.search(sig, k=_K)
                kin: list[float] = []
                strangers: list[float] = []
                for result in results:
                    other = by_id[result.incident.id or 0]
                    if other["log"] == row["log"]:
                        found["itself"].append(result.similarity)
                    elif other["repo"] == row["repo"] and other["category"] == row["category"]:
                        kin.append(result.similarity)
                    elif other["repo"] != row["repo"]:
                        strangers.append(result.similarity)
                if kin:
                    found["same repo and category"].append(max(kin))
                    labelled.append((row["repo"], "kin", max(kin)))
                if strangers:
                    found["stranger"].append(max(strangers))
                    labelled.append((row["repo"], "stranger", max(strangers)))
    return found, labelled


def _balanced(labelled: list[tuple[str, str, float]], cut: float) -> float:
    """Mean of the kin shown and the strangers hidden at ``cut``."""
    kin = [v for _, kind, v in labelled if kind == "kin"]
    strangers = [v for _, kind, v in labelled if kind == "stranger"]
    if not kin or not strangers:
        return 0.0
    shown = sum(v >= cut for v in kin) / len(kin)
    hidden = sum(v < cut for v in strangers) / len(strangers)
    return (shown + hidden) / 2


def leave_one_repo_out(labelled: list[tuple[str, str, float]]) -> list[float]:
    """For each repository, the cut that best separates kin from strangers in the others."""
    grid = [n / 20 for n in range(1, 20)]
    chosen = []
    for repo in sorted({r for r, _, _ in labelled}):
        others = [x for x in labelled if x[0] != repo]
        chosen.append(max(grid, key=lambda c: (_balanced(others, c), -c)))
    return chosen


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args()
    if not (args.data / "labels.jsonl").exists():
        print(f"no LogChunks labels under {args.data}", file=sys.stderr)
        return 1
    found, labelled = asyncio.run(_measure(args.data))
    rows: list[list[Any]] = []
    for kind, values in found.items():
        if not values:
            continue
        shown = sum(v >= WEAK_MATCH for v in values) / len(values)
        rows.append(
            [
                kind,
                len(values),
                _quantile(values, 0.1),
                statistics.median(values),
                _quantile(values, 0.9),
                f"{shown:.0%}",
            ]
        )
    print_table(
        "Best similarity per query (LogChunks, every log learned, every log searched)",
        ["match", "queries", "p10", "median", "p90", f">= {WEAK_MATCH:.0%} (shown)"],
        rows,
    )
    cuts = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    print_table(
        "Share of best matches at or above each cut",
        ["match", *(f">= {c:.0%}" for c in cuts)],
        [
            [kind, *(f"{sum(v >= c for v in values) / len(values):.0%}" for c in cuts)]
            for kind, values in found.items()
            if values
        ],
    )
    chosen = leave_one_repo_out(labelled)
    print(
        f"\ncut chosen leaving each of {len(chosen)} repositories out: median "
        f"{statistics.median(chosen):.2f} (range {min(chosen):.2f}-{max(chosen):.2f}); "
        f"balanced accuracy at {WEAK_MATCH:.2f} over all: {_balanced(labelled, WEAK_MATCH):.3f}"
    )
    if args.json:
        keys = ["match", "queries", "p10", "median", "p90", "shown"]
        args.json.write_text(json.dumps([dict(zip(keys, r, strict=True)) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
