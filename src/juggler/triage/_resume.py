"""``juggler triage --resume RUN_ID``: the CLI's side of the run journal (:mod:`._journal`).

Every CLI run gets a run id, printed first on stderr (``juggler run <id>``: not a
``juggler:`` line, which reports a problem), and journals its chunks next to the
knowledge base (``$JUGGLER_JOURNAL`` overrides). A run that finishes drops its chunks; one
that is interrupted (Ctrl-C, SIGTERM) is marked ``interrupted`` on the way out; one that is
SIGKILLed stays ``running``. Either can be resumed.
"""

from __future__ import annotations

import atexit
import contextlib
import sqlite3
import sys
from typing import TYPE_CHECKING

from ._journal import ResumeError, RunJournal, default_journal_path, new_run_id

if TYPE_CHECKING:
    import os


def start_journal(kb: str | os.PathLike[str] | None, resume: str | None) -> RunJournal | None:
    """Open the journal for a new run, or for ``resume``; print the run id on stderr.

    A journal that cannot be opened (a read-only home, a full disk) does not stop a new
    run: it is said in one line, and the run goes on without being resumable.

    Raises:
        ResumeError: ``resume`` names no unfinished run, or the journal cannot be read
            (one line; exit 2).
    """
    path = default_journal_path(kb)
    try:
        journal = RunJournal(path, resume or new_run_id(), resume=bool(resume))
    except (OSError, sqlite3.Error) as exc:
        reason = f"{path}: {getattr(exc, 'strerror', None) or exc}"
        if resume:
            raise ResumeError(f"--resume {resume}: cannot open the run journal {reason}") from None
        sys.stderr.write(f"juggler: run journal unavailable ({reason}); no --resume\n")
        return None
    atexit.register(_interrupted, journal)
    if resume:
        sys.stderr.write(
            f"juggler run {journal.run_id}: resuming ({journal.journaled} chunks journaled)\n"
        )
    else:
        sys.stderr.write(f"juggler run {journal.run_id}\n")
    sys.stderr.flush()
    return journal


def finish_journal(journal: RunJournal | None) -> None:
    """The run completed: drop its chunks, mark it done, say what a resume reused."""
    if journal is None:
        return
    atexit.unregister(_interrupted)
    if journal.failed:
        sys.stderr.write(f"juggler: run journal stopped recording ({journal.failed})\n")
    if journal.journaled:
        sys.stderr.write(
            f"juggler run {journal.run_id}: reused {journal.reused} of {journal.journaled} "
            f"journaled chunks, scanned {journal.committed}\n"
        )
    with contextlib.suppress(sqlite3.Error, OSError):  # the findings are out already
        journal.finish("done")
    journal.close()


def _interrupted(journal: RunJournal) -> None:
    # At exit without finish_journal: Ctrl-C or SIGTERM (exit 130), or an error. What was
    # committed stays for --resume.
    with contextlib.suppress(Exception):  # the journal must never mask the exit status
        journal.finish("interrupted")
        journal.close()
