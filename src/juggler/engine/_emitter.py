"""A stage's way out: outputs go downstream in arrival order, or in input order."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ._channel import Channel, WouldBlock

if TYPE_CHECKING:
    from ._run_context import Item


class Emitter:
    """Sends a stage's outputs downstream, in arrival order when the stage is ordered.

    Ordered stages hold finished outputs until every earlier item has been sent, and take
    no more than ``window`` items ahead of the oldest unsent one, so memory stays bounded
    even when one item is slow.
    """

    def __init__(self, out: Channel[Item], *, ordered: bool, window: int) -> None:
        self._out = out
        self.ordered = ordered
        self._window = window
        self._next_in = 0
        self._next_out = 0
        self._pending: dict[int, list[Item]] = {}
        self._flushing = False
        self._room_waiters: list[asyncio.Future[None]] = []

    def room(self) -> int:
        return self._window - (self._next_in - self._next_out)

    async def wait_room(self) -> None:
        while self.room() <= 0:
            waiter = asyncio.get_running_loop().create_future()
            self._room_waiters.append(waiter)
            await waiter

    def take_indices(self, count: int) -> int:
        first = self._next_in
        self._next_in += count
        return first

    async def emit(self, index: int, items: list[Item]) -> None:
        if not self.ordered:
            out = self._out
            for item in items:
                try:
                    out.send_nowait(item)  # room is the common case: no coroutine needed
                except WouldBlock:
                    await out.send(item)
            return
        self._pending[index] = items
        if self._flushing:
            return  # the task that is flushing will send these too
        self._flushing = True
        try:
            pending = self._pending
            while self._next_out in pending:
                for item in pending.pop(self._next_out):
                    await self._out.send(item)
                self._next_out += 1
                waiters, self._room_waiters = self._room_waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
        finally:
            self._flushing = False
