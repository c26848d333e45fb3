"""Failure finding on labelled CI logs, with ranking weights chosen by leave-one-project-out.

The detectors hold no learned numbers; the ranking's weights (``juggler.triage.rank.RankWeights``)
are the only thing chosen from labelled data. This script chooses them honestly:

* **all-in**: every log scored with the shipped defaults;
* **cross-validated (LOPO)**: for each project of LogChunks, the weights are picked from a small
  grid by hit@1 (then hit@3) on the *other* projects' logs, and that project's logs are scored
  with them. The figures are over all logs (micro-averaged), like the shared tool's.

CiDiff is scored with and without its passing log (the baseline), with the shipped defaults.

Scoring and case loading are the shared evaluation tool's own (``shared/tools/triage_eval.py``,
imported from its path); the triage runs in-process (``find_failures``' own steps), so a
full run takes about a minute instead of one process per log.

Usage::

    python bench/triage_cv.py [--logchunks DIR] [--cidiff DIR] [--tool PATH]
        [--limit N] [--misses] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from juggler.triage._findings import PreparedScan, baseline_keys, prepare_scans, scan_chunk
from juggler.triage.rank import DEFAULT_WEIGHTS, RankWeights

if TYPE_CHECKING:
    from types import ModuleType

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"

GRID = [
    RankWeights(
        plain=(s, p, r),
        with_baseline=DEFAULT_WEIGHTS.with_baseline,
        outside_step=o,
        tail_severity=t,
    )
    for s, p, r, o, t in itertools.product(
        (0.5, 0.6, 0.8), (0.1, 0.2), (0.05, 0.1), (1.0, 0.8, 0.6), (0.4,)
    )
]
if DEFAULT_WEIGHTS not in GRID:
    GRID.append(DEFAULT_WEIGHTS)


def load_tool(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("triage_eval", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def read_lines(path: Path) -> list[str]:
    with path.open(encoding="utf-8", errors="replace", newline="") as f:
        return f.read().split("\n")


def prepare(case: Any, *, with_baseline: bool) -> PreparedScan:
    lines = read_lines(case.log)
    known = None
    if with_baseline and case.passing is not None:
        known = baseline_keys([read_lines(case.passing)])
    return prepare_scans([scan_chunk(lines, offset=0, baseline=known)])


def ranks_of(prepared: PreparedScan, weights: RankWeights) -> list[tuple[int, int]]:
    return [(f.start, f.end) for f in prepared.rank(weights)]


def summary(outcomes: list[Any]) -> dict[str, float]:
    n = len(outcomes)
    out: dict[str, float] = {"cases": n}
    for k in (1, 3, 5):
        hits = sum(1 for o in outcomes if o.first_hit_rank is not None and o.first_hit_rank <= k)
        out[f"hit@{k}"] = hits / n if n else 0.0
    out["median_lines_top3"] = statistics.median(o.lines_shown_top3 for o in outcomes) if n else 0
    return out


def fitness(outcomes: list[Any]) -> float:
    """What a setting is chosen by: hit@1 plus hit@3 (both matter; the sum is steadier)."""
    s = summary(outcomes)
    return s["hit@1"] + s["hit@3"]


def row(name: str, s: dict[str, float]) -> str:
    return (
        f"| {name} | {int(s['cases'])} | {s['hit@1']:.3f} | {s['hit@3']:.3f} | {s['hit@5']:.3f} "
        f"| {s['median_lines_top3']:.0f} |"
    )


def logchunks(tool: ModuleType, root: Path, limit: int, misses: bool) -> dict[str, Any]:
    cases = tool.load_cases(root)[: limit or None]
    labels = {}
    for line in (root / "labels.jsonl").read_text().splitlines():
        entry = json.loads(line)
        labels[entry["log"]] = entry
    prepared = [prepare(c, with_baseline=False) for c in cases]
    # outcome[g][i]: case i ranked with grid setting g.
    outcome = [
        [tool.score(c, ranks_of(p, w)) for c, p in zip(cases, prepared, strict=True)] for w in GRID
    ]
    default = GRID.index(DEFAULT_WEIGHTS)
    projects: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        projects[labels[c.name]["repo"]].append(i)
    cv: list[Any] = [None] * len(cases)
    chosen: dict[str, int] = {}
    for project, held in projects.items():
        held_set = set(held)
        train = [i for i in range(len(cases)) if i not in held_set]
        best = max(
            # Ties go to the earlier grid entry: nothing about the held-out project, nor the
            # shipped default (itself chosen on every project), decides.
            range(len(GRID)),
            key=lambda g: (fitness([outcome[g][i] for i in train]), -g),
        )
        chosen[project] = best
        for i in held:
            cv[i] = outcome[best][i]
    result = {"all_in": summary(outcome[default]), "cv": summary(cv)}
    print("LogChunks (no baseline)")
    print("| measure | logs | hit@1 | hit@3 | hit@5 | median lines in top 3 |")
    print("|---|---|---|---|---|---|")
    print(row("cross-validated (leave one project out)", result["cv"]))
    print(row("all-in (shipped weights)", result["all_in"]))
    picks: dict[tuple[float, ...], int] = defaultdict(int)
    for g in chosen.values():
        picks[(*GRID[g].plain, GRID[g].outside_step, GRID[g].tail_severity)] += 1
    print("weights chosen across folds:", dict(picks))
    usual = max(picks, key=lambda k: picks[k])
    for project, g in sorted(chosen.items()):
        w = GRID[g]
        if (*w.plain, w.outside_step, w.tail_severity) != usual:
            held = projects[project]
            s_cv = summary([cv[i] for i in held])
            print(f"  fold {project} ({len(held)} logs) chose {w}: hit@1 {s_cv['hit@1']:.2f}")
    if misses:
        by_lang: dict[str, list[Any]] = defaultdict(list)
        for i, c in enumerate(cases):
            by_lang[labels[c.name]["language"]].append(outcome[default][i])
        print("\nall-in by language")
        for lang, outs in sorted(by_lang.items(), key=lambda kv: -len(kv[1])):
            s = summary(outs)
            print(f"  {lang:14} {len(outs):3}  hit@1 {s['hit@1']:.2f}  hit@3 {s['hit@3']:.2f}")
        print("\nmisses at 1 (case, truth, top 3):")
        for i, c in enumerate(cases):
            o = outcome[default][i]
            if o.first_hit_rank != 1:
                print(f"  {c.name} truth={c.truth} rank={o.first_hit_rank} top={o.ranks[:3]}")
    print()
    return result


def cidiff(tool: ModuleType, root: Path) -> dict[str, Any]:
    cases = tool.load_cases(root)
    result = {}
    for with_baseline in (True, False):
        outs = [
            tool.score(c, ranks_of(prepare(c, with_baseline=with_baseline), DEFAULT_WEIGHTS))
            for c in cases
        ]
        result["with_baseline" if with_baseline else "without_baseline"] = summary(outs)
    print("CiDiff (shipped weights)")
    print("| measure | logs | hit@1 | hit@3 | hit@5 | median lines in top 3 |")
    print("|---|---|---|---|---|---|")
    print(row("with baseline", result["with_baseline"]))
    print(row("without baseline", result["without_baseline"]))
    print()
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--logchunks", type=Path, default=SHARED / "data" / "ci" / "logchunks")
    ap.add_argument("--cidiff", type=Path, default=SHARED / "data" / "ci" / "cidiff-breakages")
    ap.add_argument("--tool", type=Path, default=SHARED / "tools" / "triage_eval.py")
    ap.add_argument("--limit", type=int, default=0, help="first N LogChunks logs only")
    ap.add_argument("--skip-cidiff", action="store_true")
    ap.add_argument(
        "--misses", action="store_true", help="list the misses and a per-language table"
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    tool = load_tool(args.tool)
    report = {"logchunks": logchunks(tool, args.logchunks, args.limit, args.misses)}
    if not args.skip_cidiff:
        report["cidiff"] = cidiff(tool, args.cidiff)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
