"""A program that shares a ``juggler.Runtime`` the way a service will, for real-signal tests.

Usage: ``python _runtime_script.py BACKEND`` with BACKEND ``local`` (the process pool) or
``dask`` (a ``LocalCluster`` the runtime starts). It opens the runtime in its sync form,
starts a long run, prints ``READY`` once items are running, and waits. Exit code 130 on
Ctrl-C, as a shell would report.
"""

from __future__ import annotations

import sys
import threading
import time

import juggler
from tests.runtime._work import behave


def main(backend: str) -> None:
    cluster = "local" if backend == "dask" else None
    with juggler.Runtime(workers=2, cluster=cluster) as rt:

        def announce() -> None:
            while not any(state == "busy" for _, state in rt.statistics().workers):
                time.sleep(0.05)
            print("READY", flush=True)  # noqa: T201

        threading.Thread(target=announce, daemon=True).start()
        pipeline = juggler.Pipeline(juggler.cpu(behave))
        pipeline.run([("hang", 60)] * 8, runtime=rt)


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except KeyboardInterrupt:
        sys.exit(130)
