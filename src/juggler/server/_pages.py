"""The web pages: upload, run, history, knowledge base, sign-in. Rendered with Jinja2.

Log text is untrusted. Jinja escapes every value; excerpts lose their terminal escapes
(colours, titles, clipboard writes) and show other control characters as ``\\xNN``; only
``http(s)`` addresses become links.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException

from juggler.triage._service import printable, recent_incidents

from ._accept import accept_upload, read_document, visible_run
from ._access import caller, check_csrf, check_origin
from ._api import LearnBody, learn_run, search_visible
from ._auth import COOKIE, SESSION_S, Auth, User

if TYPE_CHECKING:
    from ._settings import ServeSettings

# CSI (colours, cursor), OSC (titles, hyperlinks, OSC 52 clipboard) and other ESC sequences.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
_HTTP = re.compile(r"https?://[^\s]+\Z")

pages = APIRouter(include_in_schema=False)
_env = Environment(
    loader=PackageLoader("juggler.server", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def clean(text: object) -> str:
    """Log text for a page: terminal escapes removed, other controls shown as ``\\xNN``."""
    return printable(_ANSI.sub("", str(text)))


def safe_href(url: object) -> str | None:
    """The address if it is a plain http(s) URL, else None (never ``javascript:``)."""
    text = str(url).strip()
    return text if _HTTP.match(text) else None


_env.filters["clean"] = clean
_env.globals["safe_href"] = safe_href


class _Session:
    """The page's user and session cookie (created for the local user in open mode)."""

    def __init__(self, request: Request) -> None:
        auth: Auth = request.app.state.auth
        self.cookie = request.cookies.get(COOKIE, "")
        self.user: User | None = auth.by_session(self.cookie) if self.cookie else None
        self.fresh = False
        if self.user is None and auth.open:
            self.cookie, self.user, self.fresh = auth.local_session(), auth.local(), True
        self.csrf = auth.csrf_for(self.cookie) if self.user is not None else ""
        self.open = auth.open


def _render(request: Request, session: _Session, name: str, **context: Any) -> HTMLResponse:
    page = _env.get_template(name).render(
        user=session.user,
        csrf=session.csrf,
        open_mode=session.open,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(page, headers={"Cache-Control": "no-store"})
    if session.fresh:
        _set_cookie(response, session.cookie)
    return response


def _set_cookie(response: Response, value: str) -> None:
    response.set_cookie(
        COOKIE, value, max_age=SESSION_S, httponly=True, samesite="strict", path="/"
    )


def _signed_in(request: Request) -> _Session:
    session = _Session(request)
    if session.user is None:
        raise _SignIn()
    return session


class _SignIn(HTTPException):
    def __init__(self) -> None:
        super().__init__(303, "sign in", headers={"Location": "/signin"})


@pages.get("/")
async def upload_page(request: Request) -> Response:
    session = _signed_in(request)
    settings: ServeSettings = request.app.state.settings
    assert session.user is not None
    rows = await request.app.state.store.recent(limit=8)
    recent = [r for r in rows if session.user.may_see(r.owner, r.project)][:8]
    return _render(
        request,
        session,
        "upload.html",
        recent=recent,
        max_mib=settings.max_upload_bytes // (1024 * 1024),
    )


@pages.post("/upload")
async def upload_form(request: Request) -> Response:
    check_origin(request)
    session = _signed_in(request)
    assert session.user is not None
    run_id = await accept_upload(
        request, session.user, before_start=lambda saved: check_csrf(request, saved.csrf)
    )
    return RedirectResponse(f"/runs/{run_id}", status_code=303)


@pages.get("/runs/{run_id}")
async def run_page(run_id: str, request: Request, learned: int = 0) -> Response:
    session = _signed_in(request)
    assert session.user is not None
    row = await visible_run(request, session.user, run_id)
    document = await asyncio.to_thread(read_document, request, row)
    return _render(request, session, "run.html", run=row, doc=document, learned=bool(learned))


@pages.post("/runs/{run_id}/learn")
async def learn_form(
    run_id: str,
    request: Request,
    csrf: str = Form(""),
    cause: str = Form(""),
    fix: str = Form(""),
    link: str = Form(""),
) -> Response:
    check_origin(request)
    session = _signed_in(request)
    assert session.user is not None
    check_csrf(request, csrf)
    if not cause.strip():
        raise HTTPException(400, "say what the cause was")
    body = LearnBody(cause=cause.strip()[:2000], fix=fix.strip()[:4000], link=link.strip()[:2000])
    await learn_run(request, session.user, run_id, body)
    return RedirectResponse(f"/runs/{run_id}?learned=1#learn", status_code=303)


@pages.get("/history")
async def history_page(request: Request, project: str | None = None) -> Response:
    session = _signed_in(request)
    assert session.user is not None
    rows = await request.app.state.store.recent(project=project or None, limit=200)
    runs = [r for r in rows if session.user.may_see(r.owner, r.project)][:200]
    projects = sorted({r.project for r in runs if r.project})
    return _render(
        request, session, "history.html", runs=runs, project=project or "", projects=projects
    )


@pages.get("/kb")
async def kb_page(request: Request, q: str = "", project: str = "") -> Response:
    session = _signed_in(request)
    assert session.user is not None
    settings: ServeSettings = request.app.state.settings
    q, project = q[:2000], project[:200]
    if q.strip():
        hits = await search_visible(request, session.user, q, project, 20)
        recent: list[dict[str, Any]] = []
    else:
        hits = []
        rows = await recent_incidents(settings.kb_path, limit=100)
        recent = [r for r in rows if not r["project"] or session.user.may_see("", r["project"])]
    return _render(request, session, "kb.html", q=q, project=project, hits=hits, recent=recent)


@pages.get("/signin")
async def signin_page(request: Request, failed: int = 0) -> Response:
    session = _Session(request)
    return _render(request, session, "signin.html", failed=bool(failed))


@pages.post("/signin")
async def signin(request: Request, token: str = Form("")) -> Response:
    check_origin(request)
    auth: Auth = request.app.state.auth
    cookie = auth.session_for(token.strip()) if not auth.open else auth.local_session()
    if cookie is None:
        return RedirectResponse("/signin?failed=1", status_code=303)
    response = RedirectResponse("/", status_code=303)
    _set_cookie(response, cookie)
    return response


@pages.post("/signout")
async def signout(request: Request, csrf: str = Form("")) -> Response:
    check_origin(request)
    check_csrf(request, csrf)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def page_user(request: Request) -> User:
    """The user of a page request (for tests and helpers)."""
    return caller(request)
