"""Request-level access: who the caller is, and whether a state-changing request is genuine."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException

from ._auth import COOKIE, Auth, User

if TYPE_CHECKING:
    from starlette.requests import Request

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def caller(request: Request) -> User:
    """The user behind a request: bearer token, else session cookie, else (open mode) local."""
    auth: Auth = request.app.state.auth
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        user = auth.by_token(header[7:].strip())
        if user is None:
            raise HTTPException(401, "unknown token", headers={"WWW-Authenticate": "Bearer"})
        return user
    cookie = request.cookies.get(COOKIE, "")
    if cookie:
        user = auth.by_session(cookie)
        if user is not None:
            request.state.cookie_user = True
            return user
    if auth.open:
        return auth.local()
    raise HTTPException(
        401, "sign in: send 'Authorization: Bearer <token>'", headers={"WWW-Authenticate": "Bearer"}
    )


def check_origin(request: Request) -> None:
    """Refuse a state-changing request that a browser sent from another site."""
    if request.method in _SAFE or request.headers.get("authorization"):
        return  # a bearer token is no ambient credential: a foreign page cannot attach it
    site = request.headers.get("sec-fetch-site")
    if site is not None:  # browsers say where a request came from; trust only our own pages
        if site not in ("same-origin", "none"):
            raise HTTPException(403, "cross-site request refused")
        return
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "cross-site request refused")


def check_csrf(request: Request, token: str) -> None:
    """A cookie-authenticated form must carry the token bound to that cookie."""
    auth: Auth = request.app.state.auth
    if not auth.csrf_ok(request.cookies.get(COOKIE, ""), token):
        raise HTTPException(403, "the form expired or came from elsewhere: reload the page")
