"""A hard deadline for an HTTP attempt: no answer, however slowly it drips, outlives it.

httpx's timeouts bound each socket operation, and every byte that arrives starts the next
one afresh: a receiver that sends ``HTTP/1.1 200 OK`` and then one byte every 2 s keeps a
10 s read timeout happy forever (RELIABILITY.md R19). Two layers close that hole:

* every socket operation's timeout is clamped to what is left of the attempt, so a plain
  connection fails with a timeout at the deadline;
* at the deadline a timer shuts the attempt's sockets down, for the reads no clamp reaches
  (a TLS record assembled from many tiny reads inside one call).

Only the network backend under httpcore's connection pool is replaced; requests, proxies
from the environment (``HTTPS_PROXY``, ``NO_PROXY``) and TLS stay httpx's own.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterable, Iterator


class Deadline:
    """The deadline of the current attempt of one client, and the sockets it may cut."""

    def __init__(self) -> None:
        self._until: float | None = None
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self.expired = False

    def clamp(self, timeout: float | None, error: type[Exception]) -> float | None:
        """``timeout`` shortened to the time left; ``error`` when none is left."""
        until = self._until
        if until is None:
            return timeout
        left = until - time.monotonic()
        if left <= 0:
            self.expired = True
            raise error("attempt deadline passed")
        return left if timeout is None else min(timeout, left)

    @contextlib.contextmanager
    def limit(self, seconds: float) -> Iterator[None]:
        """Run one attempt that must be over within ``seconds``."""
        self.expired = False
        self._until = time.monotonic() + max(0.0, seconds)
        timer = threading.Timer(max(0.0, seconds), self._cut)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            timer.join()
            self._until = None

    def track(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self._lock:
                self._sockets.add(sock)

    def forget(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self._lock:
                self._sockets.discard(sock)

    def _cut(self) -> None:
        self.expired = True
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline
        self._socket = inner.get_extra_info("socket")
        deadline.track(self._socket)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._deadline.clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._deadline.clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._deadline.forget(self._socket)
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, deadline: Deadline) -> None:
        self._inner = inner
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        return _Stream(stream, self._deadline)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        left = self._deadline.clamp(timeout, httpcore.ConnectTimeout)
        return _Stream(self._inner.connect_unix_socket(path, left, socket_options), self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def _proxy_for(url: str) -> str | None:
    """The environment's proxy for ``url`` (what httpx would use), or ``None``."""
    try:
        split = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    proxy = urllib.request.getproxies().get(split.scheme)
    if proxy and split.hostname and urllib.request.proxy_bypass(split.hostname):
        return None
    return proxy or None


def deadline_client(url: str) -> tuple[httpx.Client, Deadline]:
    """A client for ``url`` whose attempts :meth:`Deadline.limit` bounds, and its deadline.

    Redirects are not followed: a webhook that moved must be reconfigured, not chased (a
    redirect could send the payload, signature and all, somewhere else).
    """
    deadline = Deadline()
    transport = httpx.HTTPTransport(proxy=_proxy_for(url))
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is None:  # an httpx/httpcore release that moved these: fail loudly in tests
        raise RuntimeError("httpx transport has no network backend to bound")
    pool._network_backend = _Backend(backend, deadline)  # type: ignore[union-attr]
    return httpx.Client(transport=transport, follow_redirects=False), deadline
