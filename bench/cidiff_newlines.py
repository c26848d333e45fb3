"""How CiDiff's labels number lines, and what triage scores when they are read as ``\\n`` lines.

    .venv/bin/python ../shared/tools/triage_eval.py ../shared/data/ci/cidiff-breakages \\
        --cmd '.venv/bin/juggler triage {log} --baseline {pass} --json --quiet' --json out.json
    .venv/bin/python bench/cidiff_newlines.py out.json

``triage_eval.py`` asks for line numbers "split on \\n" (LogChunks' labels agree: every one of
its logs has lone carriage returns before the labelled lines, and ``\\n`` numbering hits). The
CiDiff labels count a lone ``\\r`` as a line break too (universal newlines), so in logs with
progress bars they point past the failure, some past the end of the log. This prints how many
cases no ``\\n``-numbered answer can hit, and the score with each label moved to the ``\\n``
line that holds it.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ci" / "cidiff-breakages"
_BREAK = re.compile(rb"\r\n|\r|\n")


def newline_number(data: bytes, universal: int) -> int:
    """The ``\\n``-numbered line holding universal-newline line ``universal`` of ``data``."""
    starts = [0, *(m.end() for m in _BREAK.finditer(data))]
    position = starts[min(universal - 1, len(starts) - 1)]
    return data.count(b"\n", 0, position) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, help="the --json output of triage_eval.py")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    rows = json.loads(args.results.read_text())
    hits = {1: 0, 3: 0}
    unreachable = 0
    for row in rows:
        data = (args.data / row["case"] / "fail.log").read_bytes()
        last = data.count(b"\n") + 1
        if all(a > last for a, _ in row["truth"]):
            unreachable += 1
        truth = [(newline_number(data, a), newline_number(data, b)) for a, b in row["truth"]]
        for k in hits:
            top = row["top"][:k]
            if any(a <= tb and ta <= b for a, b in top for ta, tb in truth):
                hits[k] += 1
    n = len(rows)
    print(f"cases: {n}; every label starts past the last \\n line in {unreachable}")
    print(f"best hit@k any \\n-numbered answer can reach: {(n - unreachable) / n:.3f}")
    for k, hit in hits.items():
        print(f"labels moved to \\n lines: hit@{k} {hit}/{n} = {hit / n:.3f}")


if __name__ == "__main__":
    main()
