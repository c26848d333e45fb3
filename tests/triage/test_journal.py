"""The run journal (R9): keys that cannot go stale, and a resumed fold equal to a fresh one."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from juggler.triage._journal import ResumeError, RunJournal, fingerprint
from juggler.triage.ingest import iter_sources
from juggler.triage.kb import Cause, Indication
from juggler.triage.pipeline import triage
from juggler.triage.scrape import plan_chunks
from tests.chaos.test_resume import write_log

if TYPE_CHECKING:
    from pathlib import Path

    from juggler.triage.scrape import Chunk


def _chunks(log: Path) -> list[Chunk]:
    [source] = list(iter_sources([str(log)]))
    assert not isinstance(source, Exception)
    return list(plan_chunks(source))


def test_keys_change_with_the_file_the_baseline_and_the_causes(tmp_path: Path) -> None:
    """Same file, same settings: same key. Touch the file or change a setting: another."""
    log = tmp_path / "a.log"
    write_log(log, lines=2000)
    journal = RunJournal(tmp_path / "runs.sqlite3", "r1", resume=False)
    try:
        journal.begin(None, ())
        [chunk] = _chunks(log)
        key = journal.key(chunk)
        again = RunJournal(tmp_path / "runs.sqlite3", "r2", resume=False)
        again.begin(None, ())
        assert again.key(chunk) == key
        again.close()
        stat = log.stat()
        os.utime(log, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
        moved = RunJournal(tmp_path / "runs.sqlite3", "r3", resume=False)
        moved.begin(None, ())
        assert moved.key(chunk) != key
        moved.close()
    finally:
        journal.close()
    cause = Cause(name="x", indications=(Indication(pattern="boom"),))
    assert fingerprint(None, ()) != fingerprint(frozenset(), ())
    assert fingerprint(None, ()) != fingerprint(None, (cause,))


def test_a_resumed_run_reuses_every_chunk_and_folds_the_same_document(tmp_path: Path) -> None:
    """A run that committed every chunk but never finished: the resume scans nothing and
    gives the document of a run without a journal."""
    log = tmp_path / "b.log"
    write_log(log, lines=60_000)  # 2 chunks
    path = tmp_path / "runs.sqlite3"
    plain = triage([str(log)], use_kb=False, workers=1).document
    first = RunJournal(path, "run-a", resume=False)
    triage([str(log)], use_kb=False, workers=1, journal=first)
    assert first.committed == len(_chunks(log)) >= 2
    first.close()  # killed before finish(): the chunks stay
    resumed = RunJournal(path, "run-a", resume=True)
    document = triage([str(log)], use_kb=False, workers=1, journal=resumed).document
    assert (resumed.journaled, resumed.reused, resumed.committed) == (first.committed,) * 2 + (0,)
    assert document == plain
    resumed.finish("done")
    resumed.close()
    with pytest.raises(ResumeError, match="finished"):
        RunJournal(path, "run-a", resume=True)
    with pytest.raises(ResumeError, match="no such run"):
        RunJournal(path, "run-b", resume=True)


def test_an_unusable_journal_does_not_stop_a_run(tmp_path: Path) -> None:
    """A journal path that cannot be created: one line, and the triage still runs (exit 0)."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    log = tmp_path / "c.log"
    write_log(log, lines=100)
    env = {**os.environ, "JUGGLER_JOURNAL": str(blocker / "runs.sqlite3")}
    done = subprocess.run(
        [sys.executable, "-m", "juggler", "triage", str(log), "--no-kb", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=100,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "run journal unavailable" in done.stderr


def test_a_journal_that_cannot_write_never_costs_the_run_its_result(tmp_path: Path) -> None:
    """A commit that fails (here: the database is gone from under it) is recorded, not
    raised: the fold goes on, and the failure is there to be reported."""
    journal = RunJournal(tmp_path / "runs.sqlite3", "r", resume=False)
    journal.close()
    journal.commit("k", {"scan": 1})
    assert journal.failed is not None
    assert journal.committed == 0
