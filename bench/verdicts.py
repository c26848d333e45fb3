"""How often the triage verdict (failed / passed / unknown) is right on labelled CI logs.

    .venv/bin/python bench/verdicts.py [--json out.json]

Every CiDiff case has a failing and a passing run of the same job (``fail.log``,
``pass.log``); every LogChunks log comes from a failed Travis build. Each log is triaged in
process (no worker pool: this measures the verdict, not speed) and its verdict and terminal
headline are tallied against the truth. The table is the confusion matrix; "headlined failed"
counts headlines that say "Build failed", which must never happen for a passing build.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import print_table
from juggler.triage._findings import find_failures
from juggler.triage._present import headline

# The shared data sits beside the checkout (../shared), or beside the folder of worktrees.
DATA = next(
    (
        p / "shared" / "data" / "ci"
        for p in Path(__file__).resolve().parents[1:4]
        if (p / "shared" / "data" / "ci").is_dir()
    ),
    Path("../shared/data/ci"),
)
OUTCOMES = ("failed", "passed", "unknown")


def _cases(data: Path) -> list[tuple[str, Path, str]]:
    """(set, log, true outcome) for every labelled log found under ``data``."""
    cases = []
    for case in sorted((data / "cidiff-breakages").glob("*/")):
        for name, truth in (("fail.log", "failed"), ("pass.log", "passed")):
            if (case / name).exists():
                cases.append(("cidiff", case / name, truth))
    cases.extend(
        ("logchunks", log, "failed")
        for log in sorted((data / "logchunks" / "logs").glob("*/*/failed/*.log"))
    )
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--json", type=Path, help="also write the tallies as JSON")
    args = parser.parse_args()
    cases = _cases(args.data)
    if not cases:
        print(f"no labelled logs under {args.data}", file=sys.stderr)
        return 1
    confusion: Counter[tuple[str, str, str]] = Counter()
    headlined: Counter[tuple[str, str]] = Counter()
    for dataset, log, truth in cases:
        lines = log.read_bytes().decode("utf-8", errors="replace").split("\n")
        document = find_failures(lines, path=log.name)
        verdict = document["analysis"]["verdict"]
        confusion[(dataset, truth, verdict)] += 1
        if headline(document).startswith("Build failed"):
            headlined[(dataset, truth)] += 1
    rows = []
    for dataset in ("cidiff", "logchunks"):
        for truth in ("failed", "passed"):
            counts = [confusion[(dataset, truth, v)] for v in OUTCOMES]
            if sum(counts):
                rows.append([dataset, truth, *counts, headlined[(dataset, truth)], sum(counts)])
    print_table(
        "Verdict against the truth (rows: truth; columns: verdict)",
        ["set", "truth", *(f"verdict {v}" for v in OUTCOMES), "headlined failed", "logs"],
        rows,
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    dict(
                        zip(["set", "truth", *OUTCOMES, "headlined_failed", "logs"], r, strict=True)
                    )
                    for r in rows
                ],
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
