"""The ASGI app: one shared Runtime, the runs store, the API, the pages, health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.resources
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

import juggler

from ._api import Health, Problem, router
from ._auth import Auth
from ._metrics import Metrics
from ._pages import pages
from ._runner import Runner
from ._store import RunStore
from ._uploads import BodyLimit

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from ._settings import ServeSettings

#: The pages' policy: scripts and styles only from our own /static files, nothing inline.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)


def create_app(settings: ServeSettings, *, auth: Auth | None = None) -> ASGIApp:
    """The whole service as one ASGI app (body cap outermost, so it runs before anything)."""
    settings.check()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.runs_dir.mkdir(parents=True, exist_ok=True)
        store = RunStore(settings.data_dir / "runs.sqlite")
        store.mark_interrupted()
        metrics = Metrics()
        stopping = False
        async with juggler.Runtime(
            workers=settings.workers, cluster=settings.cluster, max_runs=settings.max_runs
        ) as runtime:
            runner = Runner(settings, store, metrics, runtime)
            await runner.warm_up()
            app.state.store, app.state.metrics, app.state.runner = store, metrics, runner
            watcher = asyncio.create_task(metrics.watch_loop(lambda: stopping))
            try:
                yield
            finally:
                stopping = True
                await runner.drain(0)  # SIGTERM drained already; cancel what is left
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        store.close()

    app = FastAPI(
        title="juggler serve",
        version=juggler.__version__,
        summary="Triage failed CI logs: upload, watch, read the findings, teach the KB.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.auth = auth if auth is not None else Auth.from_file(settings.token_file)
    app.include_router(router)
    app.include_router(pages)
    static = importlib.resources.files("juggler.server") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/healthz", response_model=Health, responses={503: {"model": Problem}})
    async def healthz(request: Request) -> Health:
        runner: Runner = request.app.state.runner
        if runner.draining:
            raise HTTPException(503, "draining", headers={"Retry-After": "5"})
        return Health(status="ok", running=runner.running, queued=runner.queued)

    @app.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics(request: Request) -> Response:
        runner: Runner = request.app.state.runner
        body = request.app.state.metrics.render(runner.running, runner.queued)
        return Response(body, media_type="text/plain; version=0.0.4")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    return SecurityHeaders(BodyLimit(app, settings.max_upload_bytes))


class SecurityHeaders:
    """Adds the CSP and friends to every response that did not set its own policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", PAGE_CSP.encode()))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
