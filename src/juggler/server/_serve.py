"""Running the app under uvicorn, with a shutdown that drains runs first (R16).

On SIGTERM or Ctrl-C the server keeps listening for the grace period so new uploads get a
503 rather than a refused connection, lets running triages finish, then cancels the rest
(marked ``interrupted``) and exits 0. A second signal exits at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import uvicorn

from ._app import create_app
from ._protocol import protocol
from ._settings import is_loopback

if TYPE_CHECKING:
    import socket
    from types import FrameType

    from ._settings import ServeSettings

log = logging.getLogger("juggler.server")


class _DrainingServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, grace_s: float) -> None:
        super().__init__(config)
        self.grace_s = grace_s
        self._drain = False
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain or self._loop is None or not self.started:
            super().handle_exit(sig, frame)  # a second signal, or before start-up: stop now
            return
        # A signal handler runs between two bytecodes of whatever the loop was doing: only
        # hand the work to the loop, never touch its state from here.
        self._drain = True
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._drain_then_exit())

    async def _drain_then_exit(self) -> None:
        app: Any = self.config.loaded_app
        runner = _find_runner(app)
        if runner is not None:
            await runner.drain(self.grace_s)
        self.should_exit = True


def _find_runner(app: Any) -> Any:
    # The ASGI app is wrapped by our middlewares (and uvicorn's proxy-headers one).
    for _ in range(8):
        state = getattr(app, "state", None)
        if state is not None and hasattr(state, "runner"):
            return state.runner
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


def serve(settings: ServeSettings, *, ready: Any = None) -> None:
    """Serve until SIGTERM/SIGINT; ``ready(port)`` is called once the socket listens."""
    settings.check()
    logging.basicConfig(level=logging.INFO, format="juggler serve: %(message)s")
    if not is_loopback(settings.host):
        log.warning(
            "listening on %s: anyone who can reach this address can try to use the service; "
            "only holders of a token from --token-file get in",
            settings.host,
        )
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,  # query strings could carry secrets (S5); metrics say the rest
        timeout_keep_alive=5,
        timeout_graceful_shutdown=1,
        h11_max_incomplete_event_size=16 * 1024,
        lifespan="on",
        http=protocol(),
    )
    server = _DrainingServer(config, settings.grace_s)

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():  # noqa: ASYNC110 -- uvicorn has no event
            await asyncio.sleep(0.02)
        if server.started:
            port = server.servers[0].sockets[0].getsockname()[1]
            log.info("listening on http://%s:%d/", _shown(settings.host), port)
            if ready is not None:
                ready(port)
        await task

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())


def _loop_factory() -> Any:
    """uvloop's event loop when installed (the `serve` extra brings it), else asyncio's."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host
