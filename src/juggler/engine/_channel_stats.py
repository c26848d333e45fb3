"""``ChannelStatistics``, apart from the channel so reports can name it without importing it.

``_errors`` → ``_report`` → here: no import circle (``_channel`` imports ``_errors``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import final


@final
@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStatistics:
    """A snapshot of a channel.

    ``peak_buffered`` never exceeds ``max_buffered``: that is the backpressure promise.
    """

    buffered: int
    max_buffered: int
    peak_buffered: int
    sent: int
    received: int
    waiting_senders: int
    waiting_receivers: int
    closed: bool
