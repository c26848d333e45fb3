"""A tiny program that uses the pool the way the CLI will, for real-signal tests.

Usage: ``python _pool_script.py MODE`` where MODE is ``cancel`` (Ctrl-C cancels the run) or
``shield`` (the items keep running in a task Ctrl-C does not cancel, so shutdown has to
wait out the grace period). It prints ``READY <pid> <pid>...`` once both workers hold an
item, then waits for a signal. Exit code 130 on interrupt, as a shell would report.
"""

from __future__ import annotations

import asyncio
import sys

from juggler.engine._backends._procpool import ProcessPool, sigterm_as_sigint
from juggler.engine._backends._procpool._faults import Fault, run_with_faults


async def main(mode: str) -> None:
    async with ProcessPool(workers=2, grace_s=1.5) as pool:
        items = [Fault("hang", key=i) for i in range(8)]
        work = asyncio.ensure_future(
            pool.run_many(
                run_with_faults, items, item_ids=[str(i) for i in range(8)], timeout_s=None
            )
        )
        await pool.wait_until(lambda s: s.busy == 2)
        # The test reads this line to know both workers hold an item.
        print("READY", *pool.statistics().worker_pids, flush=True)  # noqa: T201
        if mode == "shield":
            # Nobody awaits ``work`` once the shield is cancelled; retrieve its PoolClosed.
            work.add_done_callback(lambda f: f.cancelled() or f.exception())
            await asyncio.shield(work)
        else:
            await work


if __name__ == "__main__":
    with sigterm_as_sigint():
        try:
            asyncio.run(main(sys.argv[1]))
        except KeyboardInterrupt:
            sys.exit(130)
