"""Engine test fixtures: the event-loop thread must never block."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from blockbuster import BlockBuster

if TYPE_CHECKING:
    from collections.abc import Iterator

# Starting a worker process is the one blocking step the loop takes, by design: a fork via
# the forkserver costs about a millisecond and happens once per worker, not per item.
_PROCESS_START = [
    ("os.getcwd", "multiprocessing/spawn.py", {"get_preparation_data"}),
    ("os.stat", "multiprocessing/spawn.py", {"get_preparation_data"}),
    ("os.write", "multiprocessing/resource_tracker.py", {"ensure_running", "_send"}),
    ("os.read", "multiprocessing/forkserver.py", {"connect_to_new_process"}),
    ("os.read", "multiprocessing/popen_forkserver.py", {"_launch"}),
    ("socket.socket.connect", "multiprocessing/forkserver.py", {"connect_to_new_process"}),
    ("socket.socket.send", "multiprocessing/reduction.py", {"sendfds"}),
    ("socket.socket.sendmsg", "multiprocessing/reduction.py", {"sendfds"}),
    ("os.write", "multiprocessing/popen_forkserver.py", {"_launch"}),
    ("os.read", "multiprocessing/reduction.py", {"recvfds"}),
]


@pytest.fixture(autouse=True)
def no_blocking_on_the_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any test whose event loop thread makes a blocking call (sleep, file or socket I/O).

    The engine promises that nothing blocking runs on the loop (STYLE.md §7.7); blockbuster
    raises ``BlockingError`` inside the loop when it happens. Tests marked ``allow_blocking``
    (browser tests: Playwright's sync API runs its own loop in the test thread) opt out.
    """
    if request.node.get_closest_marker("allow_blocking"):
        yield
        return
    detector = BlockBuster()
    for function, module, names in _PROCESS_START:
        if function in detector.functions:
            detector.functions[function].can_block_in(module, names)
    detector.activate()
    try:
        yield
    finally:
        detector.deactivate()
