"""A writer or a reader of one knowledge base, run as its own process by test_kb_writer_kill.

    python _kb_script.py write KB FIRST   # adds incidents job-FIRST, job-FIRST+1, ... forever
    python _kb_script.py read KB STOP     # searches until the file STOP exists, then
                                          # prints "searched N"

The writer prints "committed job-N" only after the transaction adding job-N returned, so
every printed id must survive a SIGKILL. The reader exits 1 with the error on stderr if any
operation fails (a "database is locked" above all).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from juggler.triage.kb import Incident, Resolution, open_store, signature_of_lines


def _text(n: int) -> str:
    return f"error: job {n} failed on runner {n % 5}\nAssertionError: expected {n} got {n + 1}"


async def write(path: str, first: int) -> None:
    async with open_store(path, seed=False) as kb:
        n = first
        while True:
            await kb.add_incident(
                Incident(
                    signature=signature_of_lines(_text(n).split("\n")),
                    resolution=Resolution(cause="", fix=f"fix {n}"),
                    project=f"p{n % 3}",
                    source=f"job-{n}",
                )
            )
            print(f"committed job-{n}", flush=True)  # noqa: T201
            n += 1


async def read(path: str, stop: Path) -> None:
    async with open_store(path, seed=False) as kb:
        n = 0
        while not stop.exists():
            await kb.search(_text(n), project=f"p{n % 3}", k=3)
            await kb.count_incidents()
            n += 1
    print(f"searched {n}", flush=True)  # noqa: T201


def main() -> None:
    mode, path, arg = sys.argv[1:4]
    if mode == "write":
        asyncio.run(write(path, int(arg)))
    else:
        asyncio.run(read(path, Path(arg)))


if __name__ == "__main__":
    main()
