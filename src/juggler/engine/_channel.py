"""Bounded in-memory channels between stages: backpressure, and numbers to prove it."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar, final

from ._channel_stats import ChannelStatistics as ChannelStatistics
from ._errors import ChannelClosed, ConfigError

T = TypeVar("T")

__all__ = ["Channel", "ChannelStatistics", "EndOfChannel", "WouldBlock"]


class WouldBlock(Exception):
    """A ``*_nowait`` operation would have had to wait."""


class EndOfChannel(Exception):
    """``receive`` on a channel that is closed and drained: there will be no more items."""


@final
class Channel(Generic[T]):
    """A FIFO with room for ``max_buffered`` items; ``send`` waits while it is full.

    Many tasks may send and receive. ``close()`` says no more items will come: waiting
    receivers get :class:`EndOfChannel` once the buffer is drained, and later senders get
    :class:`ChannelClosed`.
    """

    __slots__ = (
        "_buffer",
        "_closed",
        "_max",
        "_peak",
        "_received",
        "_receivers",
        "_senders",
        "_sent",
    )

    def __init__(self, max_buffered: int) -> None:
        if max_buffered < 1:
            raise ConfigError(f"max_buffered must be >= 1, got {max_buffered}")
        self._max = max_buffered
        self._buffer: deque[T] = deque()
        self._senders: deque[asyncio.Future[None]] = deque()
        self._receivers: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self._peak = 0
        self._sent = 0
        self._received = 0

    @property
    def max_buffered(self) -> int:
        return self._max

    def send_nowait(self, item: T) -> None:
        """Put ``item`` in the buffer, or raise :class:`WouldBlock` if it is full."""
        if self._closed:
            raise ChannelClosed("send on a closed channel")
        if len(self._buffer) >= self._max:
            raise WouldBlock
        self._put(item)

    async def send(self, item: T) -> None:
        """Put ``item`` in the buffer, waiting for room first."""
        if self._closed:
            raise ChannelClosed("send on a closed channel")
        while len(self._buffer) >= self._max:
            waiter = asyncio.get_running_loop().create_future()
            self._senders.append(waiter)
            try:
                await waiter
            except BaseException:
                self._discard(self._senders, waiter)
                # Our wake-up may have been meant for this sender: pass it on.
                if waiter.done() and not waiter.cancelled() and len(self._buffer) < self._max:
                    self._wake_one(self._senders)
                raise
            if self._closed:
                raise ChannelClosed("send on a closed channel")
        self._put(item)

    def receive_nowait(self) -> T:
        """Take the oldest item, or raise :class:`WouldBlock` / :class:`EndOfChannel`."""
        if self._buffer:
            return self._take()
        if self._closed:
            raise EndOfChannel
        raise WouldBlock

    async def receive(self) -> T:
        """Take the oldest item, waiting for one; :class:`EndOfChannel` after close."""
        while not self._buffer:
            if self._closed:
                raise EndOfChannel
            await self._wait_for_items()
        return self._take()

    async def receive_many(self, max_items: int) -> list[T]:
        """Wait for at least one item, then take up to ``max_items`` without waiting more."""
        while not self._buffer:
            if self._closed:
                raise EndOfChannel
            await self._wait_for_items()
        buffer = self._buffer
        count = min(max_items, len(buffer))
        taken = [buffer.popleft() for _ in range(count)]
        self._received += count
        self._wake_senders(count)
        return taken

    def close(self) -> None:
        """No more items will be sent. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for waiters in (self._receivers, self._senders):
            while waiters:
                waiter = waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)

    def statistics(self) -> ChannelStatistics:
        return ChannelStatistics(
            buffered=len(self._buffer),
            max_buffered=self._max,
            peak_buffered=self._peak,
            sent=self._sent,
            received=self._received,
            waiting_senders=len(self._senders),
            waiting_receivers=len(self._receivers),
            closed=self._closed,
        )

    def _put(self, item: T) -> None:
        self._buffer.append(item)
        self._sent += 1
        if len(self._buffer) > self._peak:
            self._peak = len(self._buffer)
        receivers = self._receivers
        while receivers:
            waiter = receivers.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def _take(self) -> T:
        item = self._buffer.popleft()
        self._received += 1
        self._wake_senders(1)
        return item

    def _wake_senders(self, count: int) -> None:
        senders = self._senders
        while count and senders:
            waiter = senders.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1

    async def _wait_for_items(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._receivers.append(waiter)
        try:
            await waiter
        except BaseException:
            self._discard(self._receivers, waiter)
            # Our wake-up may have been meant for this receiver: pass it on.
            if waiter.done() and not waiter.cancelled() and self._buffer:
                self._wake_one(self._receivers)
            raise

    @staticmethod
    def _wake_one(waiters: deque[asyncio.Future[None]]) -> None:
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    @staticmethod
    def _discard(waiters: deque[asyncio.Future[None]], waiter: asyncio.Future[None]) -> None:
        try:
            waiters.remove(waiter)
        except ValueError:
            pass
