"""Live progress bars on stderr: one bar per stage with its count and rate.

The run loop calls ``advance`` once per finished item, so that call is one list increment and
nothing else. Drawing happens on rich's refresh thread a few times a second, which copies the
counters into the bars just before each render. The bars appear only after ``delay_s`` (runs
shorter than about a second never show them), only on a terminal, and never on stdout, so
``--json`` output stays clean.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO, final

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from rich.console import Console

    from ._bars import Bars

# Terminals that cannot move the cursor: redrawing bars there prints a new copy each time.
_DUMB_TERMS = frozenset({"dumb", "unknown"})


def should_show(
    stream: TextIO, *, quiet: bool = False, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether live progress belongs on ``stream``.

    Off with ``quiet``, when ``stream`` is not a terminal (a pipe, a file, CI logs), and when
    ``TERM`` is ``dumb`` (it cannot redraw in place). ``NO_COLOR`` does not turn the bars off: it
    asks for no colour, and rich draws them without colour when it is set.
    """
    env = os.environ if environ is None else environ
    if quiet or env.get("TERM", "") in _DUMB_TERMS:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or already closed
        return False


@final
class Progress:
    """Per-stage counters, drawn as live bars when enabled; get one from ``open_progress``.

    ``advance`` is safe to call from the event loop's thread at any rate: it only increments a
    counter. It is not meant to be called from several threads at once (an increment can be
    lost; the bars are informative, the run report holds the true counts).
    """

    __slots__ = ("_bars", "_closed", "_counts", "_lock", "_names", "_opened", "_timer", "_totals")

    def __init__(self, stage_names: Sequence[str]) -> None:
        self._names = list(stage_names)
        self._counts = [0] * len(self._names)
        self._totals: list[int | None] = [None] * len(self._names)
        self._bars: Bars | None = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._opened = time.monotonic()

    def advance(self, stage_index: int, n: int = 1) -> None:
        """Count ``n`` more items finished by stage number ``stage_index`` (pipeline order)."""
        self._counts[stage_index] += n

    def set_total(self, stage_index: int, total: int | None) -> None:
        """Tell how many items stage ``stage_index`` will see, when known (bars then fill)."""
        self._totals[stage_index] = total

    @property
    def counts(self) -> tuple[int, ...]:
        """Items counted so far, per stage."""
        return tuple(self._counts)

    @property
    def is_live(self) -> bool:
        """True while the bars are on screen."""
        return self._bars is not None

    def _show_after(self, delay_s: float, console: Console, refresh_per_second: float) -> None:
        if delay_s <= 0:
            self._start(console, refresh_per_second)
            return
        self._timer = threading.Timer(delay_s, self._start, (console, refresh_per_second))
        self._timer.name = "juggler-progress-delay"
        self._timer.daemon = True  # never keep the interpreter alive for a progress bar
        self._timer.start()

    def _start(self, console: Console, refresh_per_second: float) -> None:
        # Runs on the timer's thread; the lock orders it against _close on the caller's.
        with self._lock:
            if self._closed:
                return
            from ._bars import Bars  # rich loads only when bars are shown (workers never)

            bars = Bars(self, console=console, refresh_per_second=refresh_per_second)
            bars.start()
            self._bars = bars

    def _close(self) -> None:
        with self._lock:
            self._closed = True
            timer, self._timer = self._timer, None
            bars, self._bars = self._bars, None
        if timer is not None:
            timer.cancel()
            timer.join()  # the leak check (and good manners) want no thread left behind
        if bars is not None:
            bars.stop()


@contextlib.contextmanager
def open_progress(
    stage_names: Sequence[str],
    *,
    enabled: bool | None = None,
    quiet: bool = False,
    stream: TextIO | None = None,
    delay_s: float = 1.0,
    refresh_per_second: float = 4.0,
) -> Iterator[Progress]:
    """Count items per stage and, where it belongs, show them as live bars on stderr.

    Args:
        stage_names: The stages, in pipeline order (``advance`` takes an index into it).
        enabled: Force the bars on or off; None decides with ``should_show(stream)``.
        quiet: Turn the bars off whatever ``enabled`` says (``--quiet``).
        stream: Where to draw; ``sys.stderr`` when omitted. Never pass stdout.
        delay_s: Show nothing until the run has lasted this long.
        refresh_per_second: How often the bars redraw.

    Yields:
        The ``Progress`` to ``advance``; the bars are removed when the block exits.
    """
    out = sys.stderr if stream is None else stream
    show = (should_show(out, quiet=quiet) if enabled is None else enabled) and not quiet
    progress = Progress(stage_names)
    if show:
        # An explicit enabled=True means "draw as on a terminal" even on a capture stream.
        from rich.console import Console

        console = Console(file=out, force_terminal=True if enabled else None, stderr=True)
        progress._show_after(delay_s, console, refresh_per_second)
    try:
        yield progress
    finally:
        progress._close()
