"""uvicorn's HTTP protocols with a header timeout (S4).

uvicorn closes idle keep-alive connections but waits forever for a request whose header
bytes trickle in; 500 such clients would hold 500 sockets. Here a connection must complete
a request's headers within ``HEADER_TIMEOUT_S`` of opening (or of its last response), else
it is closed. httptools (C parser) is used when installed, h11 otherwise.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT_S = 10.0


class _HeaderDeadline:
    """Mixin over a uvicorn protocol: close a connection that sends no request in time."""

    transport: Any
    loop: Any
    cycle: Any

    def _arm(self) -> None:
        self._cycle_at_arm = self.cycle
        self._deadline = self.loop.call_later(HEADER_TIMEOUT_S, self._check_headers)

    def _check_headers(self) -> None:
        if self.transport.is_closing():
            return
        if self.cycle is self._cycle_at_arm:  # no new request's headers arrived in time
            busy = self.cycle is not None and not self.cycle.response_complete
            if not busy:
                self.transport.close()

    # The protocol's own hooks, extended; the protocol class follows this mixin in the MRO.
    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        self._deadline.cancel()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)  # type: ignore[misc]


class H11HeaderTimeout(_HeaderDeadline, H11Protocol):
    pass


def protocol() -> type[Any]:
    """The fastest protocol available, with the header deadline."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return H11HeaderTimeout

    class HttpToolsHeaderTimeout(_HeaderDeadline, HttpToolsProtocol):
        pass

    return HttpToolsHeaderTimeout
