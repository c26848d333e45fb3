"""RELIABILITY.md R15: the knowledge base under contention, its writer SIGKILLed at random.

Readers search in their own processes while a writer adds incidents one transaction at a
time; the writer is killed at random moments, restarted, killed again. No reader may see an
error (``database is locked`` above all), the file must pass ``integrity_check`` after each
kill, and every incident the writer reported committed must be there.
"""

from __future__ import annotations

import asyncio
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from juggler.triage.kb import open_store

pytestmark = [pytest.mark.crash, pytest.mark.timeout(120)]

SCRIPT = Path(__file__).with_name("_kb_script.py")
KILLS = 12  # the nightly promise is 50; this many keeps the PR suite quick
READERS = 3


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_lines(writer: subprocess.Popen[str], *, at_least: int, seconds: float) -> list[str]:
    """Lines the writer prints during ``seconds``, waiting up to 10 s more for ``at_least``."""
    assert writer.stdout is not None
    lines: list[str] = []
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= seconds and len(lines) >= at_least:
            return lines
        if elapsed >= seconds + 10:
            return lines
        ready, _, _ = select.select([writer.stdout], [], [], 0.005)
        if ready:
            line = writer.stdout.readline()
            if not line:
                return lines  # it died on its own: the caller finds out why
            lines.append(line.strip())


def _create(path: Path) -> None:
    async def main() -> None:
        async with open_store(path, seed=False):
            pass

    asyncio.run(main())


def test_killing_the_writer_loses_nothing_committed_and_locks_out_no_reader(
    tmp_path: Path,
) -> None:
    kb = tmp_path / "kb.sqlite3"
    stop = tmp_path / "stop"
    _create(kb)
    rng = random.Random(15)
    committed: set[str] = set()
    readers = [_start("read", str(kb), str(stop)) for _ in range(READERS)]
    writer: subprocess.Popen[str] | None = None
    try:
        for kill in range(KILLS):
            writer = _start("write", str(kb), str(kill * 1_000_000))
            # Once it has committed something, kill it at a random moment of its work.
            lines = _read_lines(writer, at_least=1, seconds=rng.uniform(0.0, 0.05))
            writer.send_signal(signal.SIGKILL)
            out, err = writer.communicate(timeout=10)
            assert writer.returncode == -signal.SIGKILL, err
            lines += out.split()[1::2]  # "committed job-N" lines still in the pipe
            lines = [line.removeprefix("committed ") for line in lines]
            assert lines, f"round {kill}: the writer committed nothing before the kill: {err}"
            committed.update(lines)
            with sqlite3.connect(kb) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                present = {row[0] for row in conn.execute("SELECT source FROM incidents")}
            conn.close()
            assert committed <= present, f"lost after kill {kill}: {committed - present}"
        stop.touch()
        for reader in readers:
            out, err = reader.communicate(timeout=30)
            assert reader.returncode == 0, err
            assert "locked" not in err
            assert int(out.split()[-1]) > KILLS  # it searched all along, not once
    finally:
        stop.touch()
        for proc in [*readers, *([writer] if writer else [])]:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
