"""RELIABILITY.md R9/R10: ``--resume`` after Ctrl-C, SIGTERM or a SIGKILL of the parent.

A real ``juggler triage`` in its own process group is signalled at a random moment after
it committed its first chunk (SIGINT and SIGTERM to the group, as a terminal does; SIGKILL
to the parent alone). Then ``--resume RUN_ID`` must reuse every chunk the journal holds
(≥ 95 %), scan only the others (0 duplicates: reused + scanned = chunks), and produce the
same findings and memo as an uninterrupted run (timings aside).

PR tier: 3 trials (one per signal). ``JUGGLER_NIGHTLY=1``: 20 trials.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import psutil
import pytest

from juggler.triage.ingest import iter_sources
from juggler.triage.scrape import plan_chunks

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.crash, pytest.mark.timeout(240)]

NIGHTLY = os.environ.get("JUGGLER_NIGHTLY") == "1"
TRIALS = 20 if NIGHTLY else 3
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
# About 10 MB (4-5 chunks of 2 MiB); nightly 27 MB, so signals land at more varied moments.
LINES = 400_000 if NIGHTLY else 150_000


def write_log(path: Path, lines: int = LINES) -> None:
    """A long build log with scattered errors and a failing test at the end (our own text)."""
    with path.open("w") as out:
        for i in range(lines):
            if i % 5000 == 17:
                out.write(f"ERROR worker-{i % 7}: connection reset by peer fetching shard {i}\n")
            elif i % 7919 == 3:
                out.write(f"WARNING deprecated option --fast used by job {i % 13}\n")
            else:
                out.write(f"INFO worker-{i % 17} processed batch {i} in {i % 997} ms\n")
        out.write("FAILED tests/test_sync.py::test_merge - AssertionError: shards differ\n")
        out.write("##[error]Process completed with exit code 1.\n")


def _triage(log: Path, out: Path, journal: Path, *more: str) -> subprocess.Popen[str]:
    env = {**os.environ, "JUGGLER_JOURNAL": str(journal)}
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "juggler", "triage", str(log)),
            *("--no-kb", "--json", "--quiet", "--out-dir", str(out), *more),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a terminal's job
    )


def _memo(out: Path) -> tuple[str, Any]:
    """The memo files without their timings (the only part that may differ)."""
    md = "\n".join(
        line for line in (out / "memo.md").read_text().splitlines() if "triage so far" not in line
    )

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("seconds", "timings")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return md, strip(json.loads((out / "memo.json").read_text()))


def _document(stdout: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(stdout)
    document.pop("deliveries", None)  # attempts carry their timings
    return document


def _chunks(journal: Path, run_id: str) -> tuple[str | None, int]:
    with contextlib.closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True)) as conn:
        row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM chunks WHERE run_id = ?", (run_id,)
        ).fetchone()
    return (row[0] if row else None), count


def _group_alive(pgid: int) -> list[int]:
    alive = []
    for proc in psutil.process_iter(["pid", "status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(proc.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return alive


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The log, its chunk count, and an uninterrupted run's document and memo."""
    root = tmp_path_factory.mktemp("resume")
    log = root / "build.log"
    write_log(log)
    [source] = list(iter_sources([str(log)]))
    assert not isinstance(source, Exception)
    proc = _triage(log, root / "out", root / "runs.sqlite3")
    stdout, stderr = proc.communicate(timeout=200)
    assert proc.returncode == 0, stderr
    return {
        "log": log,
        "chunks": len(plan_chunks(source)),
        "document": _document(stdout),
        "memo": _memo(root / "out"),
    }


ROWS: list[str] = []


@pytest.mark.parametrize("trial", range(TRIALS))
def test_resume_after_a_signal_reuses_committed_work(
    trial: int, reference: dict[str, Any], tmp_path: Path
) -> None:
    """Signal at a random moment, resume: ≥ 95 % reuse, 0 duplicates, identical output."""
    sig = SIGNALS[trial % len(SIGNALS)]
    rng = random.Random(trial)
    journal = tmp_path / "runs.sqlite3"
    proc = _triage(reference["log"], tmp_path / "cut", journal)
    assert proc.stderr is not None
    first = proc.stderr.readline()
    match = re.match(r"juggler run ([0-9a-f]{16})$", first.strip())
    assert match, first
    run_id = match.group(1)
    # A random moment: after a random number of commits (at least one, and not the last
    # ones), plus a random fraction of a second.
    wanted = rng.randint(1, max(1, reference["chunks"] - 2))
    started = time.monotonic()
    while _chunks(journal, run_id)[1] < wanted and proc.poll() is None:
        assert time.monotonic() < started + 120, "no chunk committed in 120 s"
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.3))
    pgid = proc.pid
    if proc.poll() is None:
        if sig == signal.SIGKILL:
            os.kill(proc.pid, sig)  # the parent alone: its workers must notice and go
        else:
            os.killpg(pgid, sig)
    proc.communicate(timeout=30)
    assert proc.returncode in (0, -signal.SIGKILL if sig == signal.SIGKILL else 130)
    gone_by = time.monotonic() + 3  # R10: 0 orphans after 3 s
    while _group_alive(pgid) and time.monotonic() < gone_by:
        time.sleep(0.05)
    assert _group_alive(pgid) == []  # no orphaned worker
    status, committed = _chunks(journal, run_id)
    if status == "done":  # the signal came after the run had completed: nothing to resume
        assert committed == 0
        ROWS.append(f"{trial:>3} {sig.name:<8} finished before the signal")
        print("\n".join(["", "trial signal   reuse", *ROWS]))  # noqa: T201 - the report (-s)
        return
    assert status == ("running" if sig == signal.SIGKILL else "interrupted")
    with contextlib.closing(sqlite3.connect(journal)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    resumed = _triage(reference["log"], tmp_path / "resumed", journal, "--resume", run_id)
    stdout, stderr = resumed.communicate(timeout=200)
    assert resumed.returncode == 0, stderr
    said = re.search(r"reused (\d+) of (\d+) journaled chunks, scanned (\d+)", stderr)
    assert said, stderr
    reused, journaled, scanned = map(int, said.groups())
    assert journaled == committed
    assert reused >= 0.95 * committed
    assert reused + scanned == reference["chunks"]  # nothing scanned twice, nothing lost
    document = _document(stdout)
    assert document == reference["document"]
    spans = [(f["path"], f["line_start"], f["line_end"]) for f in document["findings"]]
    assert len(spans) == len(set(spans))
    assert _memo(tmp_path / "resumed") == reference["memo"]
    assert _chunks(journal, run_id) == ("done", 0)
    ROWS.append(
        f"{trial:>3} {sig.name:<8} committed {committed}/{reference['chunks']}  "
        f"reused {reused} ({100 * reused / max(1, committed):.0f} %)  scanned {scanned}  "
        "identical: yes"
    )
    print("\n".join(["", "trial signal   reuse", *ROWS]))  # noqa: T201 - the report (-s)


def test_resume_of_an_unknown_or_finished_run_is_one_line(tmp_path: Path) -> None:
    """``--resume`` with a run id the journal does not hold: exit 2, one line."""
    log = tmp_path / "small.log"
    write_log(log, lines=200)
    done = _triage(log, tmp_path / "o", tmp_path / "runs.sqlite3", "--resume", "0" * 16)
    _, stderr = done.communicate(timeout=100)
    assert done.returncode == 2
    assert "no such run" in stderr
    assert len(stderr.strip().splitlines()) == 1
    first = _triage(log, tmp_path / "o", tmp_path / "runs.sqlite3")
    _, stderr = first.communicate(timeout=100)
    run_id = stderr.split()[2]
    again = _triage(log, tmp_path / "o", tmp_path / "runs.sqlite3", "--resume", run_id)
    _, stderr = again.communicate(timeout=100)
    assert again.returncode == 2
    assert "finished" in stderr
