"""Bounded channels: backpressure, close semantics, statistics."""

from __future__ import annotations

import asyncio

import pytest

from juggler import Channel, ChannelClosed, ConfigError, EndOfChannel, WouldBlock
from juggler.testing import run_virtual


def test_send_waits_while_full_and_peak_never_exceeds_bound() -> None:
    """A sender blocks at ``max_buffered``; receiving makes room for exactly one more."""

    async def main() -> None:
        channel: Channel[int] = Channel(2)
        await channel.send(1)
        await channel.send(2)
        blocked = asyncio.ensure_future(channel.send(3))
        await asyncio.sleep(0)
        assert not blocked.done()
        assert channel.statistics().waiting_senders == 1
        assert await channel.receive() == 1
        await blocked
        stats = channel.statistics()
        assert (stats.buffered, stats.peak_buffered, stats.max_buffered) == (2, 2, 2)

    run_virtual(main())


def test_nowait_operations_raise_would_block() -> None:
    """``send_nowait`` on a full channel and ``receive_nowait`` on an empty one raise."""
    channel: Channel[str] = Channel(1)
    with pytest.raises(WouldBlock):
        channel.receive_nowait()
    channel.send_nowait("a")
    with pytest.raises(WouldBlock):
        channel.send_nowait("b")
    assert channel.receive_nowait() == "a"


def test_close_drains_then_ends_and_refuses_sends() -> None:
    """After ``close`` the buffer is still delivered, then ``EndOfChannel``; sends fail."""

    async def main() -> None:
        channel: Channel[int] = Channel(4)
        await channel.send(1)
        channel.close()
        with pytest.raises(ChannelClosed):
            await channel.send(2)
        assert await channel.receive() == 1
        with pytest.raises(EndOfChannel):
            await channel.receive()

    run_virtual(main())


def test_close_wakes_a_waiting_receiver() -> None:
    """A receiver waiting on an empty channel gets ``EndOfChannel`` when it is closed."""

    async def main() -> None:
        channel: Channel[int] = Channel(1)
        waiting = asyncio.ensure_future(channel.receive())
        await asyncio.sleep(0)
        channel.close()
        with pytest.raises(EndOfChannel):
            await waiting

    run_virtual(main())


def test_receive_many_takes_what_is_there_up_to_the_limit() -> None:
    """``receive_many`` waits for one item, then takes at most ``max_items`` without waiting."""

    async def main() -> None:
        channel: Channel[int] = Channel(10)
        for i in range(5):
            channel.send_nowait(i)
        assert await channel.receive_many(3) == [0, 1, 2]
        assert await channel.receive_many(10) == [3, 4]
        assert channel.statistics().received == 5

    run_virtual(main())


def test_cancelled_receiver_passes_its_wakeup_on() -> None:
    """A receiver cancelled after being woken does not swallow the item's wake-up."""

    async def main() -> None:
        channel: Channel[int] = Channel(1)
        first = asyncio.ensure_future(channel.receive())
        second = asyncio.ensure_future(channel.receive())
        await asyncio.sleep(0)
        channel.send_nowait(7)  # wakes ``first``...
        first.cancel()  # ...which is cancelled before it runs
        assert await second == 7

    run_virtual(main())


def test_bound_must_be_positive() -> None:
    """A channel without room is a configuration error."""
    with pytest.raises(ConfigError):
        Channel(0)
