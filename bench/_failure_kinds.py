"""Failure kinds across projects, for the cross-project retrieval measure in kb_retrieval.py.

LogChunks' own ``category`` compares chunks within one repository only. To ask "does the KB
find an incident of the *same kind of failure* in *another* project?", each labelled chunk
gets one of the kinds below. How the labels were made:

1. We read 90 labelled chunks drawn at random (seeds 7 and 11, 45 each) across the
   repositories and named the kinds that recur across
   projects and languages: a failing test, a compile or type error, a lint/style/docs check,
   a dependency that could not be resolved or loaded, the network or a timeout, and a
   missing file or build script.
2. Each kind got the phrases that announce it in any language's tooling, written from that
   reading (never a project's own names). The first kind whose pattern matches the chunk wins,
   in the order below, which puts the more specific kinds first.
3. A chunk that matches none is ``other`` and is neither a query nor counted as right.
4. Check: we read 40 further chunks at random with the rules' labels beside them and marked
   each label right or wrong by our own reading. The first rules were right on 26 of 40
   (seed 23); we widened the phrases of the kinds they
   missed (linters and checkers by their wording, a timeout inside a test is a test,
   YAML/parse errors are compile errors) and checked a fresh sample (seed 29): 32 of 40
   right (80 %). The 8 wrong: three generated-docs diffs and a docs check left as other,
   a deploy error taken for a dependency, a browser disconnect taken for a test, a compile
   error in a test file taken for a test, a lint configuration's own test taken for lint.
   The labels
   are therefore noisy at about 1 in 5, equally for every ranker compared.
   ``python bench/_failure_kinds.py DATA SEED`` prints such a sample with its labels.
"""

from __future__ import annotations

import re
from typing import Final

_KINDS: Final = (
    (
        "dependency",
        r"unresolved dependency|could not resolve|no module named|modulenotfounderror"
        r"|cannot find module|could not find (a )?(version|compatible|package|artifact)"
        r"|no version of .* is available|error while loading shared libraries"
        r"|package .* (is )?(not (found|available|installed)|unavailable)"
        r"|no matching (version|distribution)|unable to find the requested"
        r"|failed to (download|fetch|install)|npm err! (404|code e404)|gem::.*error",
    ),
    (
        "lint",
        r"lint|style|must use|line longer than|too long|trailing (white)?space|indentation"
        r"|\bMD\d{3}\b|undocumented|is not being used|redundant|violation|prettier|offenses"
        r"|critic|severity: \d|flake8|pycodestyle|checkstyle|does not match (the )?format"
        r"|\bformat(ting)?\b.*(differ|changed|check)|commit (all )?(the )?changes"
        r"|overfull \\hbox|deprecated|spelling|words not in order",
    ),
    (
        "compile",
        r":\d+:(\d+:)? (fatal )?error\b|compil(e|ation) (error|failed)|syntaxerror|syntax error"
        r"|parse error|unexpected token|cannot start any token|couldn't match"
        r"|cannot find symbol|undefined (reference|in record|variable|method)|type ?error"
        r"|is not defined|undeclared|no such (method|function)|cannot be applied"
        r"|expected .* (before|after) ",
    ),
    (
        "test",
        r"assert|expected|actual|\bfail(ed|ure|s)?\b.*\btest|\btest.*\bfail|<<< (failure|error)"
        r"|(?-i:\bFAIL\b)|\b\d+\) |tests? (run|failed)|subtests|dubious|\bspec\b"
        r"|examples?, \d+ fail",
    ),
    (
        "network",
        r"could not (create|open) connection|connection (refused|reset|timed out)"
        r"|timed? ?out|timeout|disconnected|could not resolve host|name or service not known"
        r"|temporary failure in name resolution|\b50[234]\b|ssl|certificate",
    ),
    (
        "missing-file",
        r"no such file or directory|no rakefile found|does not exist|not found|cannot open"
        r"|missing (file|script)|could not find remote",
    ),
)
_PATTERNS: Final = tuple((kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _KINDS)
_ANSI: Final = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\r")


def failure_kind(chunk: str) -> str:
    """The kind of the failure a labelled chunk describes, or ``"other"``."""
    text = _ANSI.sub("", chunk)
    return next((kind for kind, pattern in _PATTERNS if pattern.search(text)), "other")


if __name__ == "__main__":
    import json
    import random
    import sys
    from pathlib import Path

    data = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/ci/logchunks")
    rows = [json.loads(line) for line in (data / "labels.jsonl").open()]
    for row in random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 23).sample(rows, 40):
        lines = [x.strip() for x in _ANSI.sub("", row["chunk"]).split("\n") if x.strip()]
        print(f"{failure_kind(row['chunk']):<12} {' | '.join(lines)[:140]}")
