"""Leave-one-system-out accuracy of the template miner: how well it does on a system it never saw.

The miner has no per-system rules; its few generic thresholds (``juggler.triage.scrape.Rules``)
are the only things chosen from data. This script chooses them honestly: for each of the
loghub systems it picks, from a small grid, the setting with the best mean GA + PA over the
*other* systems, then scores the held-out system with that setting. The mean of those held-out
scores is the leave-one-out (LOSO) figure; the all-in figure scores every system with the
shipped defaults. The gap between the two is the overfitting.

Scoring (GA, PA) and content extraction are the shared evaluation tool's own
(``shared/tools/logparse_eval.py``, corrected ground truth), imported from its path.

Usage::

    python bench/miner_loso.py [--data ../shared/data/loghub]
        [--tool ../shared/tools/logparse_eval.py] [--json OUT]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import statistics
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from juggler.triage.scrape._structure import DEFAULT_RULES, Rules
from juggler.triage.scrape._templates import TemplateMiner, cluster_keys

if TYPE_CHECKING:
    from types import ModuleType

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared"

GRID = [
    Rules(min_variable_values=v, min_constant_share=c, states_are_events=s)
    for v, c, s in itertools.product((2, 3, 4, 5), (0.3, 0.4, 0.5, 0.6), (True, False))
]


def load_tool(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("logparse_eval", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def mine(contents: list[str], rules: Rules) -> list[str]:
    miner = TemplateMiner()
    keys = [miner.add(line) for line in contents]
    mapping = cluster_keys(miner.counts(), rules)
    return [mapping[key] for key in keys]


def describe(rules: Rules) -> str:
    return (
        f"values>={rules.min_variable_values} const>={rules.min_constant_share} "
        f"states={'y' if rules.states_are_events else 'n'}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED / "data" / "loghub")
    ap.add_argument("--tool", type=Path, default=SHARED / "tools" / "logparse_eval.py")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    tool = load_tool(args.tool)
    systems = sorted(p.name for p in args.data.iterdir() if p.is_dir() and p.name in tool.DATASETS)
    if not systems:
        print(f"{args.data}: no loghub systems", file=sys.stderr)
        return 2
    data = {s: tool.load_dataset(args.data / s, s, "corrected")[:2] for s in systems}
    # scores[rules index][system] = (GA, PA)
    scores: list[dict[str, tuple[float, float]]] = []
    for rules in GRID:
        row = {}
        for system in systems:
            contents, truth = data[system]
            result = tool.score(mine(contents, rules), truth)
            row[system] = (result["GA"], result["PA"])
        scores.append(row)
    default_index = GRID.index(DEFAULT_RULES)

    def fitness(index: int, systems_in: list[str]) -> float:
        return sum(sum(scores[index][s]) for s in systems_in)

    rows: list[dict[str, Any]] = []
    for system in systems:
        train = [s for s in systems if s != system]
        best = max(range(len(GRID)), key=lambda i: (fitness(i, train), -i))
        ga, pa = scores[best][system]
        all_ga, all_pa = scores[default_index][system]
        rows.append(
            {
                "system": system,
                "chosen": describe(GRID[best]),
                "loso_GA": ga,
                "loso_PA": pa,
                "allin_GA": all_ga,
                "allin_PA": all_pa,
            }
        )
    best_all = max(range(len(GRID)), key=lambda i: (fitness(i, systems), -i))
    print(
        f"shipped defaults: {describe(DEFAULT_RULES)}; "
        f"best on all systems: {describe(GRID[best_all])}"
    )
    print()
    print("| system | setting chosen without it | LOSO GA | LOSO PA | all-in GA | all-in PA |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['system']} | {r['chosen']} | {r['loso_GA']:.3f} | {r['loso_PA']:.3f} "
            f"| {r['allin_GA']:.3f} | {r['allin_PA']:.3f} |"
        )
    means = {
        k: statistics.fmean(r[k] for r in rows)
        for k in ("loso_GA", "loso_PA", "allin_GA", "allin_PA")
    }
    print(
        f"| **mean** | | **{means['loso_GA']:.3f}** | **{means['loso_PA']:.3f}** "
        f"| **{means['allin_GA']:.3f}** | **{means['allin_PA']:.3f}** |"
    )
    worst = min(rows, key=lambda r: r["loso_GA"])
    print(f"\nworst LOSO GA: {worst['system']} {worst['loso_GA']:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "means": means}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
