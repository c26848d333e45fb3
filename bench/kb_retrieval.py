"""Knowledge-base benchmark: retrieval quality, retrieval latency at 10^5, matcher overhead.

Measures, in one run:

1. **Retrieval quality, an ablation** on ``shared/data/ci/logchunks`` (434 Travis logs of 56
   projects, each with a hand-labelled failure chunk and a per-project ``category``). Every
   labelled chunk is stored as a past incident of its project (the repo, e.g.
   ``NancyFx@Nancy``). Each log then queries the KB leave-one-out (its own incident
   excluded) and is *right* when the top incident has the same project and category; 404
   logs have such a partner. Each ranking is measured alone and fused: lexical (FTS5 BM25),
   dense and hybrid (reciprocal-rank fusion), with the hashed TF-IDF embedder and with
   WordLlama (``juggler[semantic]``, a learned static embedding shipped in its wheel).
   Columns: the query's project given (the triage knows which project it runs for), content
   only, and the triage's own top 3 findings of ``find_failures`` on the raw log as the query
   instead of the labelled chunk. **Cross-project**: every log of a known failure kind
   (``bench/_failure_kinds.py`` says how those labels were made) asks for incidents of *other*
   projects only, and is right when they are of the same kind; the chance row is how often a
   random other project's incident is. Plain BM25 with the log's last 150 lines as the query,
   against the other logs' last 150 lines (the issue's baseline, as read here) and against
   the stored incidents, in the same run.
2. **Retrieval latency**: top-5 among 100,000 synthetic incidents (median and p95 of 100
   queries after one warm-up that loads the vectors), and the event loop's lag measured by a
   1 ms ticker during those queries (p50/p99/max), beside the same ticker on an idle loop.
3. **Matcher overhead**: ``match_causes`` with the starter catalogue (and with it repeated
   10x, ~600 indications) on a 10,000-line log built from the logchunks logs, against a
   plain read + split + ``mine_templates`` of the same log, and against ``find_failures``.

Usage::

    python bench/kb_retrieval.py [--data ../shared/data/ci/logchunks] [--incidents 100000]
                                 [--json OUT]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import logging
import math
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import print_table, write_json
from _failure_kinds import failure_kind
from juggler.triage.kb import (
    Cause,
    Embedder,
    HashingEmbedder,
    Incident,
    Indication,
    Ranking,
    Resolution,
    SemanticEmbedder,
    Signature,
    load_catalogue,
    match_causes,
    open_store,
    signature_of,
    signature_of_lines,
)
from juggler.triage.scrape import mine_templates

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "ci" / "logchunks"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\r")
_WORD = re.compile(r"\w+")


def load_rows(data: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (data / "labels.jsonl").read_text().splitlines()]
    for row in rows:
        # Bytes, not read_text(): universal newlines would turn "\r" into line ends and shift
        # the labelled line numbers, which count "\n" only.
        raw = (data / row["log"]).read_bytes().decode("utf-8", errors="replace").split("\n")
        row["lines"] = raw
        if row["chunk_lines"]:
            first, last = row["chunk_lines"]
            row["chunk_text"] = raw[first - 1 : last]
        else:  # 4 chunks could not be located in their log: use the labelled text
            row["chunk_text"] = row["chunk"].split("\n")
    return rows


def with_partner(rows: list[dict[str, Any]]) -> list[int]:
    pairs = collections.Counter((r["repo"], r["category"]) for r in rows)
    return [i for i, r in enumerate(rows) if pairs[(r["repo"], r["category"])] > 1]


def score(rows: list[dict[str, Any]], i: int, ranked: list[int]) -> tuple[bool, bool]:
    def right(j: int) -> bool:
        return rows[j]["repo"] == rows[i]["repo"] and rows[j]["category"] == rows[i]["category"]

    return (bool(ranked) and right(ranked[0]), any(right(j) for j in ranked[:3]))


# -- the baseline: plain BM25 over each log's last 150 lines ----------------------------------


def _words(lines: list[str]) -> list[str]:
    return [w.lower() for line in lines for w in _WORD.findall(_ANSI.sub("", line))]


def bm25_last_lines(
    rows: list[dict[str, Any]], queries: list[int], tail: int = 150, *, against_chunks: bool
) -> list[list[int]]:
    """Plain BM25 (k1 1.2, b 0.75), query = the log's last ``tail`` lines.

    Documents are the other logs' last ``tail`` lines, or (``against_chunks``) their
    labelled chunks, i.e. the same incidents juggler searches.
    """
    tails = [_words(r["lines"][-tail:]) for r in rows]
    docs = [_words(r["chunk_text"]) for r in rows] if against_chunks else tails
    n = len(docs)
    df = collections.Counter(t for d in docs for t in set(d))
    avg = sum(map(len, docs)) / n
    tfs = [collections.Counter(d) for d in docs]

    def bm25(q: list[str], j: int, k1: float = 1.2, b: float = 0.75) -> float:
        tf, s = tfs[j], 0.0
        for t in set(q):
            if t in tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += idf * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(docs[j]) / avg))
        return s

    return [
        sorted((j for j in range(n) if j != i), key=lambda j: -bm25(tails[i], j))[:3]
        for i in queries
    ]


# -- juggler ------------------------------------------------------------------------------------


def triage_signature(lines: list[str]) -> Signature | None:
    try:
        from juggler.triage._findings import find_failures
    except ImportError:
        return None
    result = find_failures([_ANSI.sub("", line) for line in lines], path="log")
    return signature_of(result, top=3)


RANKINGS: tuple[Ranking, ...] = ("lexical", "dense", "hybrid")


async def juggler_rankings(
    rows: list[dict[str, Any]], queries: list[int], folder: Path, embedder: Embedder
) -> dict[str, list[list[int]]]:
    """Rankings of every query, keyed ``<ranking>/<project|content|triage>``.

    Also ``<ranking>/cross``: the first 3 incidents of *other* projects, for every log
    (the cross-project measure scores them by failure kind).
    """
    async with open_store(
        folder / f"logchunks-{embedder.name}.sqlite3", seed=False, embedder=embedder
    ) as kb:
        incidents = [
            Incident(
                signature=signature_of_lines(r["chunk_text"]),
                project=r["repo"],
                source=r["log"],
                resolution=Resolution(cause=f"category {r['category']}"),
            )
            for r in rows
        ]
        ids = await kb.add_incidents(incidents)
        row_of = {incident_id: n for n, incident_id in enumerate(ids)}
        out: dict[str, list[list[int]]] = collections.defaultdict(list)
        triage_sigs = {i: triage_signature(rows[i]["lines"]) for i in queries}

        async def others_than(
            i: int, query: Signature, project: str, ranking: Ranking
        ) -> list[int]:
            """The top 3 rows for ``query``, leaving out log ``i``'s own incident."""
            found = await kb.search(query, project=project, k=4, ranking=ranking)
            return [row_of[s.incident.id] for s in found if s.incident.id != ids[i]][:3]

        for ranking in RANKINGS:
            for i in queries:
                query = incidents[i].signature
                for mode, project in (("project", rows[i]["repo"]), ("content", "")):
                    out[f"{ranking}/{mode}"].append(await others_than(i, query, project, ranking))
                sig = triage_sigs[i]
                if sig is not None:
                    top = await others_than(i, sig, rows[i]["repo"], ranking)
                    out[f"{ranking}/triage"].append(top)
            for i, incident in enumerate(incidents):
                # Enough results that 3 of other projects remain (a project has at most 10).
                found = await kb.search(incident.signature, k=16, ranking=ranking)
                others = [
                    row_of[s.incident.id] for s in found if s.incident.project != rows[i]["repo"]
                ]
                out[f"{ranking}/cross"].append(others[:3])
        return out


def _hits(rows: list[dict[str, Any]], queries: list[int], ranked: list[list[int]]) -> list[float]:
    hits = [score(rows, i, r) for i, r in zip(queries, ranked, strict=True)]
    return [sum(h[0] for h in hits) / len(hits), sum(h[1] for h in hits) / len(hits)]


def cross_project(rows: list[dict[str, Any]], ranked: list[list[int]]) -> list[float]:
    """Top-1 and top-3 by failure kind (bench/_failure_kinds.py), over logs of a known kind."""
    kinds = [failure_kind(r["chunk"]) for r in rows]
    asked = [i for i, kind in enumerate(kinds) if kind != "other"]
    top1 = sum(bool(ranked[i]) and kinds[ranked[i][0]] == kinds[i] for i in asked)
    top3 = sum(any(kinds[j] == kinds[i] for j in ranked[i][:3]) for i in asked)
    return [top1 / len(asked), top3 / len(asked)]


def chance_of_kind(rows: list[dict[str, Any]]) -> float:
    """How often a random incident of another project has the query's kind (the floor)."""
    kinds = [failure_kind(r["chunk"]) for r in rows]
    asked = [i for i, kind in enumerate(kinds) if kind != "other"]
    rates = []
    for i in asked:
        others = [kinds[j] for j, r in enumerate(rows) if r["repo"] != rows[i]["repo"]]
        rates.append(others.count(kinds[i]) / len(others))
    return statistics.fmean(rates)


EMBEDDERS: tuple[tuple[str, Any], ...] = (
    ("hashed TF-IDF", HashingEmbedder),
    ("WordLlama", SemanticEmbedder),
)


def quality(data: Path, folder: Path) -> tuple[list[list[Any]], dict[str, Any]]:
    """The ablation: lexical, dense and hybrid, with each embedder, on three questions."""
    rows = load_rows(data)
    queries = with_partner(rows)
    table: list[list[Any]] = []
    figures: dict[str, Any] = {}
    lexical_done = False
    for embedder_label, embedder in EMBEDDERS:
        started = time.perf_counter()
        ranks = asyncio.run(juggler_rankings(rows, queries, folder, embedder()))
        figures[f"{embedder_label} wall_s"] = time.perf_counter() - started
        for ranking in RANKINGS:
            if ranking == "lexical" and lexical_done:
                continue  # BM25 alone does not depend on the embedder
            label = (
                "lexical (FTS5 BM25)" if ranking == "lexical" else f"{ranking}, {embedder_label}"
            )
            row = [label]
            for mode in ("project", "content"):
                row += _hits(rows, queries, ranks[f"{ranking}/{mode}"])
            if len(ranks[f"{ranking}/triage"]) == len(queries):
                row += _hits(rows, queries, ranks[f"{ranking}/triage"])
            else:
                row += ["", ""]
            row += cross_project(rows, ranks[f"{ranking}/cross"])
            table.append(row)
            figures[label] = dict(zip(ABLATION_COLUMNS[1:], row[1:], strict=True))
        lexical_done = True
    for label, against_chunks in (("last 150 lines", False), ("labelled chunks", True)):
        ranked = bm25_last_lines(rows, queries, against_chunks=against_chunks)
        blank = ["", ""]
        row = [f"BM25, last 150 lines vs {label}", *blank, *_hits(rows, queries, ranked)]
        table.append([*row, *blank, *blank])
    chance = chance_of_kind(rows)
    table.append(["chance (a random other project's incident)", "", "", "", "", "", "", chance, ""])
    figures["queries"] = len(queries)
    figures["cross_queries"] = sum(failure_kind(r["chunk"]) != "other" for r in rows)
    figures["chance_of_kind"] = chance
    return table, figures


ABLATION_COLUMNS = [
    "ranking",
    "project top-1",
    "project top-3",
    "content top-1",
    "content top-3",
    "triage top-1",
    "triage top-3",
    "cross-project kind top-1",
    "cross-project kind top-3",
]


# -- latency at 10^5 -----------------------------------------------------------------------------

_VOCAB = (
    "error failed failure timeout connection refused assert expected actual module import "
    "test build compile link undefined reference segmentation fault memory heap disk space "
    "docker pull image registry npm pip maven gradle cargo go rust java python node ruby "
    "permission denied token secret certificate expired network host resolve lint format "
    "type mismatch null pointer exception stack trace index out of range key value config"
).split()


def synthetic_signature(rng: random.Random) -> Signature:
    templates = []
    for _ in range(rng.randint(3, 12)):
        words = rng.choices(_VOCAB, k=rng.randint(4, 12))
        words.insert(rng.randrange(len(words)), f"Name{rng.randrange(20000)}")
        templates.append(" ".join(words) + " <*>")
    return Signature(templates=tuple(templates), failed_step=rng.choice(_VOCAB))


async def latency(n: int, folder: Path) -> dict[str, float]:
    rng = random.Random(7)
    async with open_store(folder / "synthetic.sqlite3", seed=False) as kb:
        started = time.perf_counter()
        batch = 5000
        for start in range(0, n, batch):
            await kb.add_incidents(
                Incident(signature=synthetic_signature(rng), project=f"p{rng.randrange(500)}")
                for _ in range(min(batch, n - start))
            )
        insert_s = time.perf_counter() - started
        queries = [synthetic_signature(rng) for _ in range(101)]
        started = time.perf_counter()
        await kb.search(queries[0], project="p1", k=5)  # loads the vectors once
        load_s = time.perf_counter() - started

        async def searches(times: list[float]) -> None:
            for query in queries[1:]:
                started = time.perf_counter()
                await kb.search(query, project=f"p{rng.randrange(500)}", k=5)
                times.append(time.perf_counter() - started)

        times: list[float] = []
        await searches(times)  # latency alone: the ticker below competes for the loop
        ticked: list[float] = []
        idle = await with_ticker(asyncio.sleep(1.0))
        lags = await with_ticker(searches(ticked))
        # The loop thread's own CPU per query, and its slowest single step (debug mode's
        # slow-callback report): what the lag would be on an unloaded machine.
        slow = _SlowSteps()
        logging.getLogger("asyncio").addHandler(slow)
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = 0.001
        cpu_before = time.thread_time()
        for query in queries[1:]:
            await kb.search(query, project=f"p{rng.randrange(500)}", k=5)
        loop_cpu = (time.thread_time() - cpu_before) / (len(queries) - 1)
        loop.set_debug(False)
        logging.getLogger("asyncio").removeHandler(slow)
    times.sort()
    ticked.sort()
    return {
        "incidents": n,
        "insert_s": insert_s,
        "first_query_s": load_s,
        "top5_median_ms": statistics.median(times) * 1000,
        "top5_p95_ms": times[int(0.95 * (len(times) - 1))] * 1000,
        "top5_median_ms_with_ticker": statistics.median(ticked) * 1000,
        "lag_p50_ms": lags[len(lags) // 2] * 1000,
        "lag_p99_ms": lags[int(0.99 * (len(lags) - 1))] * 1000,
        "lag_max_ms": lags[-1] * 1000,
        "lag_samples": len(lags),
        "idle_lag_p99_ms": idle[int(0.99 * (len(idle) - 1))] * 1000,
        "loop_cpu_per_query_ms": loop_cpu * 1000,
        "loop_steps_over_1ms": len(slow.seconds),
        "loop_slowest_step_ms": max(slow.seconds, default=0.0) * 1000,
        "idle_lag_max_ms": idle[-1] * 1000,
    }


class _SlowSteps(logging.Handler):
    """Collects asyncio debug mode's "Executing ... took X seconds" reports."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"took ([0-9.]+) seconds", record.getMessage())
        if found:
            self.seconds.append(float(found.group(1)))


async def with_ticker(work: Any) -> list[float]:
    """Loop lag seen by a 1 ms ticker while ``work`` (an awaitable) runs; sorted seconds."""
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        # Expected wake-up vs actual: anything beyond 1 ms is time the loop was blocked.
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(max(0.0, time.perf_counter() - before - 0.001))

    async with asyncio.TaskGroup() as tg:
        tg.create_task(ticker())
        await asyncio.sleep(0.01)
        await work
        stop.set()
    return sorted(lags)


# -- matcher overhead ------------------------------------------------------------------------------


def build_log(data: Path, folder: Path, target: int = 10_000) -> Path:
    lines: list[str] = []
    for log in sorted(data.glob("logs/*/*/failed/*.log")):
        lines.extend(_ANSI.sub("", x) for x in log.read_text(errors="replace").split("\n"))
        if len(lines) >= target:
            break
    path = folder / "10k.log"
    path.write_text("\n".join(lines[:target]))
    return path


def best_of(fn: Any, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def matcher(data: Path, folder: Path) -> dict[str, float]:
    path = build_log(data, folder)
    catalogue = load_catalogue()
    big = [
        Cause(
            name=f"{c.name}-{n}",
            description=c.description,
            indications=tuple(
                Indication(pattern=f"{i.pattern}(?:)" if n else i.pattern, multiline=i.multiline)
                for i in c.indications
            ),
        )
        for n in range(10)
        for c in catalogue
    ]
    lines = path.read_text().split("\n")
    match_causes(lines, big)  # compile once, as a worker would

    def plain() -> None:
        mine_templates(path.read_text().split("\n"))

    figures = {
        "lines": len(lines),
        "indications": sum(len(c.indications) for c in catalogue),
        "indications_10x": sum(len(c.indications) for c in big),
        "read_split_mine_s": best_of(plain, 3),
        "match_s": best_of(lambda: match_causes(lines, catalogue)),
        "match_10x_s": best_of(lambda: match_causes(lines, big), 3),
    }
    try:
        from juggler.triage._findings import find_failures

        figures["find_failures_s"] = best_of(lambda: find_failures(lines, path="10k.log"), 3)
    except ImportError:
        pass
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--json", help="write the figures as JSON here")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        table, out["quality"] = quality(args.data, folder)
        q = out["quality"]
        print_table(
            f"Retrieval ablation, leave-one-out on logchunks ({q['queries']} logs with a"
            f" same-project partner; cross-project: {q['cross_queries']} logs of a known kind)",
            ABLATION_COLUMNS,
            table,
        )
        out["matcher"] = m = matcher(args.data, folder)
        base = m["read_split_mine_s"]
        rows = [
            ["read + split + mine_templates", m["lines"], base * 1000, ""],
            [
                f"match_causes, starter ({m['indications']} regexes)",
                m["lines"],
                m["match_s"] * 1000,
                f"{100 * m['match_s'] / base:.1f}%",
            ],
            [
                f"match_causes, 10x ({m['indications_10x']} regexes)",
                m["lines"],
                m["match_10x_s"] * 1000,
                f"{100 * m['match_10x_s'] / base:.1f}%",
            ],
        ]
        if "find_failures_s" in m:
            rows.append(
                [
                    "find_failures (a triage, 1 process)",
                    m["lines"],
                    m["find_failures_s"] * 1000,
                    f"starter = {100 * m['match_s'] / m['find_failures_s']:.1f}% of it",
                ]
            )
        print_table(
            "Cause matching on a 10k-line log", ["work", "lines", "ms (best)", "vs mine"], rows
        )
        out["latency"] = lat = asyncio.run(latency(args.incidents, folder))
        print_table(
            f"Retrieval among {lat['incidents']:,} synthetic incidents",
            ["figure", "value"],
            [[k, v] for k, v in lat.items() if k != "incidents"],
        )
    write_json(args.json, out)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
