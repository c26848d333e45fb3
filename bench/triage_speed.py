"""Triage at the speed of the disk: small logs, big logs, the shared CI sets, a clean exit.

    .venv/bin/python bench/triage_speed.py [--json out.json] [--quick]
        [--baseline-src PATH] [--sizes 200,1024] [--ci-logs N] [--exit-runs 20]

In one run, every case through the CLI in a subprocess (whole process tree):

* the small log (``examples/pytest-gha.log``): wall and CPU of the whole process, median of 5;
* 200 MB and 1 GiB of loghub-dense text (``bench/triage_big.py``'s generator) and 200 MB of
  generated CI output (build steps, compiler output, test runs), failure at the end: MB/s,
  peak RSS of the process tree, and ``grep -ciE 'error|fail|exception|traceback|fatal'``'s
  time on the same file beside it (the floor);
* the median seconds per log over LogChunks and CiDiff;
* inline vs pool on small inputs: the crossover ``triage/_inline.py`` relies on;
* R17: runs of ``juggler triage --workers 2`` in their own process group that left a process.

``--baseline-src`` runs the same cases with another checkout's ``src`` (e.g. main before this
work) in the same run, for ratios on the same machine state.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import triage_big
from _common import print_table, write_json

ROOT = Path(__file__).resolve().parents[1]
MB = 1_000_000
GREP = ["grep", "-ciE", "error|fail|exception|traceback|fatal"]


def _shared() -> Path:
    """The shared data folder: beside the checkout, or beside the main checkout of a worktree."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared"
    raise SystemExit("shared/data not found next to this checkout")


def _cmd(src: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src)
    return [sys.executable, "-m", "juggler", "triage", *args], env


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def run_cli(src: Path, *args: str, watch: bool = False) -> dict[str, Any]:
    """One triage in a subprocess: wall, CPU of the tree (reaped children), peak tree RSS."""
    cmd, env = _cmd(src, *args)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Files, not pipes: while we poll memory nobody reads, and a full pipe would stall it.
    with tempfile.TemporaryFile() as out_file, tempfile.TemporaryFile() as err_file:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out_file, stderr=err_file)
        peak = 0
        if watch:
            watched = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    peak = max(peak, _tree_rss(watched))
                except psutil.NoSuchProcess:
                    break
                time.sleep(0.05)
        proc.wait()
        wall = time.perf_counter() - started
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"triage failed ({proc.returncode}): {err.decode()[-500:]}")
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mib": peak / 2**20, "stdout": out}


def grep_floor(path: Path) -> float:
    started = time.perf_counter()
    # Captured, not sent to /dev/null: GNU grep stops at the first match when it sees that.
    subprocess.run([*GREP, str(path)], capture_output=True, check=False)
    return time.perf_counter() - started


# --- generated CI output -------------------------------------------------------------------

_COMPILE = [
    "[{n}/{t}] Building CXX object src/core/CMakeFiles/core.dir/module_{n}.cpp.o",
    "gcc -O2 -Wall -Iinclude -c src/net/conn_{n}.c -o build/conn_{n}.o",
    "src/net/conn_{n}.c:{l}:5: warning: unused variable 'tmp' [-Wunused-variable]",
    "   Compiling serde_derive v1.0.{n}",
    "[INFO] Compiling {n} source files to /build/target/classes",
    "npm WARN deprecated request@2.88.{n}: request has been deprecated",
]
_TESTS = [
    "tests/test_api.py::test_endpoint_{n} PASSED                              [ {p}%]",
    "[INFO] Tests run: {n}, Failures: 0, Errors: 0, Skipped: 1, Time elapsed: 0.{l} s",
    "test result: ok. {n} passed; 0 failed; 0 ignored; 0 measured",
    "  ✓ renders component {n} ({l} ms)",
    "ok   github.com/acme/svc/pkg/handler{n}\t0.{l}s",
]
_STEPS = [
    "##[group]Run make -j2 target_{n}",
    "##[endgroup]",
    "$ ./gradlew :module{n}:assemble --no-daemon",
    "Downloading https://repo.example.org/artifacts/lib{n}-1.{l}.jar (42 kB)",
]
_CI_FAILURE = """\
src/net/conn_9.c:120:5: error: 'timeout' undeclared (first use in this function)
make[1]: *** [Makefile:88: build/conn_9.o] Error 1
FAILED tests/test_api.py::test_endpoint_7 - AssertionError: expected 200, got 500
##[error]Process completed with exit code 2.
"""


def build_ci_log(path: Path, size: int, seed: int = 5) -> int:
    """A log of build steps, compiler output and test runs, the failure at the end."""
    rng = random.Random(seed)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        while written < size:
            block = []
            for _ in range(200):
                kind = rng.random()
                pool = _STEPS if kind < 0.05 else _TESTS if kind < 0.5 else _COMPILE
                line = rng.choice(pool).format(
                    n=rng.randrange(1, 5000), t=5000, l=rng.randrange(1, 999), p=rng.randrange(100)
                )
                block.append(line + "\n")
            text = "".join(block)
            out.write(text)
            written += len(text.encode())
        out.write(_CI_FAILURE)
        written += len(_CI_FAILURE)
    return written


def build_dense(path: Path, size: int) -> int:
    os.environ.setdefault("JUGGLER_SHARED", str(_shared()))  # found from a worktree too
    return triage_big.build(path, size / 1024**3)


# --- cases ---------------------------------------------------------------------------------


def small_case(src: Path, repeat: int) -> dict[str, Any]:
    log = ROOT / "examples" / "pytest-gha.log"
    runs = [run_cli(src, str(log), "--no-kb", "--json") for _ in range(repeat)]
    return {
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "cpu_s": statistics.median(r["cpu_s"] for r in runs),
    }


def big_case(src: Path, log: Path, size: int) -> dict[str, Any]:
    result = run_cli(src, str(log), "--no-kb", "--json", "--quiet", watch=True)
    document = json.loads(result["stdout"])
    top = document["findings"][0] if document["findings"] else {}
    return {
        "wall_s": result["wall_s"],
        "cpu_s": result["cpu_s"],
        "mb_s": size / MB / result["wall_s"],
        "peak_rss_mib": result["peak_rss_mib"],
        "top": f"{top.get('line_start')}-{top.get('line_end')} {top.get('title', '')[:40]}",
    }


def ci_logs(limit: int | None) -> dict[str, list[Path]]:
    data = _shared() / "data" / "ci"
    chunks = []
    for line in (data / "logchunks" / "labels.jsonl").read_text().splitlines():
        row = json.loads(line)
        chunks.append(data / "logchunks" / row["log"])
    cidiff = sorted((data / "cidiff-breakages").glob("*/fail.log"))
    return {"LogChunks": chunks[:limit], "CiDiff": cidiff[:limit]}


def ci_case(src: Path, logs: list[Path]) -> dict[str, Any]:
    seconds = [run_cli(src, str(log), "--no-kb", "--json")["wall_s"] for log in logs]
    return {"logs": len(logs), "median_s": statistics.median(seconds), "max_s": max(seconds)}


def crossover(src: Path, sizes_mb: list[int], tmp: Path) -> list[dict[str, Any]]:
    """Wall of one triage inline and on the pool, by input size."""
    rows = []
    for size in sizes_mb:
        log = tmp / f"ci-{size}.log"
        build_ci_log(log, size * MB, seed=size)
        # Inline is the default up to INLINE_MAX_BYTES; --workers always takes the pool.
        inline = run_cli(src, str(log), "--no-kb", "--json", "--quiet")
        pool = run_cli(src, str(log), "--no-kb", "--json", "--quiet", "--workers", "2")
        rows.append({"mb": size, "default_s": inline["wall_s"], "pool_s": pool["wall_s"]})
    return rows


def exit_runs(src: Path, runs: int) -> int:
    """How many of ``runs`` triages left a process of their group alive when they exited."""
    log = ROOT / "examples" / "pytest-gha.log"
    cmd, env = _cmd(src, str(log), "--no-kb", "--json", "--workers", "2")
    dirty = 0
    for _ in range(runs):
        proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
        proc.wait()
        dirty += bool(_group_alive(proc.pid))
    return dirty


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(int(entry))
    return alive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src, for ratios")
    parser.add_argument("--sizes", default="200,1024", help="loghub-dense sizes, MB")
    parser.add_argument("--ci-mb", type=int, default=200, help="generated CI log size, MB")
    parser.add_argument("--ci-logs", type=int, help="at most this many logs per shared set")
    parser.add_argument("--exit-runs", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20 MB logs, 20 CI logs, 5 exits")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.ci_mb, args.ci_logs, args.exit_runs = "20", 20, 20, 5
    sources = {"juggler": ROOT / "src"}
    if args.baseline_src is not None:
        sources["baseline"] = args.baseline_src.resolve()
    results: dict[str, Any] = {"small": {}, "big": [], "ci": {}, "crossover": [], "exit": {}}
    for name, src in sources.items():
        results["small"][name] = small_case(src, args.repeat)
    print_table(
        "small log (examples/pytest-gha.log), whole process, median of " + str(args.repeat),
        ["source", "wall s", "CPU s (tree)"],
        [[n, r["wall_s"], r["cpu_s"]] for n, r in results["small"].items()],
    )
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        inputs = []
        for size_mb in (int(s) for s in args.sizes.split(",")):
            path = tmp / f"dense-{size_mb}.log"
            inputs.append(("loghub-dense", path, build_dense(path, size_mb * MB)))
        ci_path = tmp / "ci.log"
        inputs.append(("ci-output", ci_path, build_ci_log(ci_path, args.ci_mb * MB)))
        for kind, path, size in inputs:
            floor = grep_floor(path)
            for name, src in sources.items():
                if name == "baseline" and size > 300 * MB:
                    continue  # the old scan takes minutes per GB: 200 MB gives the ratio
                row = big_case(src, path, size)
                row.update(
                    source=name, input=kind, mb=size / MB, grep_s=floor, grep_mb_s=size / MB / floor
                )
                results["big"].append(row)
        print_table(
            "big logs, whole process tree",
            ["input", "MB", "source", "wall s", "MB/s", "peak RSS MiB", "grep s", "grep MB/s"],
            [
                [
                    r["input"],
                    r["mb"],
                    r["source"],
                    r["wall_s"],
                    r["mb_s"],
                    r["peak_rss_mib"],
                    r["grep_s"],
                    r["grep_mb_s"],
                ]
                for r in results["big"]
            ],
        )
        results["crossover"] = crossover(sources["juggler"], [1, 4, 8, 16], tmp)
        print_table(
            "inline (default) vs pool (--workers 2) by size, wall s",
            ["MB", "default s", "pool s"],
            [[r["mb"], r["default_s"], r["pool_s"]] for r in results["crossover"]],
        )
    for name, src in sources.items():
        for dataset, logs in ci_logs(args.ci_logs).items():
            results["ci"][f"{name}:{dataset}"] = ci_case(src, logs)
    print_table(
        "shared CI sets through the CLI (--no-kb --json), seconds per log",
        ["source:set", "logs", "median s", "max s"],
        [[k, v["logs"], v["median_s"], v["max_s"]] for k, v in results["ci"].items()],
    )
    for name, src in sources.items():
        results["exit"][name] = {"runs": args.exit_runs, "dirty": exit_runs(src, args.exit_runs)}
    print_table(
        "R17: triage --workers 2 runs leaving a process of their group alive",
        ["source", "runs", "runs with processes left"],
        [[n, r["runs"], r["dirty"]] for n, r in results["exit"].items()],
    )
    write_json(args.json, results)


if __name__ == "__main__":
    main()
