"""rich's progress display for :mod:`._progress`, kept apart so rich loads only when shown.

Importing rich costs about 25 ms; every worker process imports the engine, and most runs never
draw a bar.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol, final

import rich.progress
from rich.text import Text

if TYPE_CHECKING:
    from collections.abc import Iterable

    from rich.console import Console, RenderableType


class _Counters(Protocol):
    """What the bars read from a ``Progress`` (named here so this module need not import it:
    ``_progress`` imports this one lazily, only when bars are shown)."""

    _names: list[str]
    _counts: list[int]
    _totals: list[int | None]
    _opened: float


@final
class Bars(rich.progress.Progress):
    """rich's progress display, fed from a ``Progress``'s counters at each refresh."""

    def __init__(self, source: _Counters, *, console: Console, refresh_per_second: float) -> None:
        # Set before rich's __init__ and add_task, which may already render.
        self._source = source
        self._ids: list[rich.progress.TaskID] = []
        super().__init__(
            rich.progress.TextColumn("{task.description}", markup=False),
            rich.progress.BarColumn(bar_width=32),
            _CountColumn(),
            _RateColumn(),
            _ElapsedColumn(source._opened),
            console=console,
            auto_refresh=True,
            refresh_per_second=refresh_per_second,
            transient=True,
            # Never touch sys.stdout/sys.stderr: stdout may be carrying --json output.
            redirect_stdout=False,
            redirect_stderr=False,
        )
        for name in source._names:
            self._ids.append(self.add_task(name, total=None))

    def get_renderables(self) -> Iterable[RenderableType]:
        source = self._source
        for i, task_id in enumerate(self._ids):
            self.update(task_id, completed=source._counts[i], total=source._totals[i])
        yield from super().get_renderables()


class _CountColumn(rich.progress.ProgressColumn):
    def render(self, task: rich.progress.Task) -> Text:
        done = int(task.completed)
        text = f"{done:,}" if task.total is None else f"{done:,}/{int(task.total):,}"
        return Text(text, style="progress.download")


class _RateColumn(rich.progress.ProgressColumn):
    def render(self, task: rich.progress.Task) -> Text:
        speed = task.speed
        return Text("–" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


class _ElapsedColumn(rich.progress.ProgressColumn):
    # Time since the run started, not since the bars appeared (rich's column would start at
    # the delay).
    def __init__(self, opened: float) -> None:
        super().__init__()
        self._opened = opened

    def render(self, task: rich.progress.Task) -> Text:
        elapsed = int(time.monotonic() - self._opened)
        minutes, seconds = divmod(elapsed, 60)
        return Text(f"{minutes}:{seconds:02d}", style="progress.elapsed")
