"""Who is asking: bearer tokens for the API, a signed cookie for the page, CSRF for forms.

With no token file (allowed on loopback only) everyone is the one local user, who sees every
run. With one, each token names a user and the projects they belong to; a user sees their own
runs and their projects' runs, never another user's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from juggler import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

COOKIE = "juggler_session"
SESSION_S = 12 * 3600
LOCAL_USER = "local"


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in person: their name and projects (``all_projects`` in open mode)."""

    name: str
    projects: frozenset[str] = frozenset()
    all_projects: bool = False

    def may_see(self, owner: str, project: str) -> bool:
        return (
            self.all_projects or owner == self.name or (bool(project) and project in self.projects)
        )


@dataclass(slots=True)
class Auth:
    """Tokens, the cookie signer and CSRF tokens of one server."""

    tokens: dict[str, User] = field(default_factory=dict)
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @property
    def open(self) -> bool:
        return not self.tokens

    @classmethod
    def from_file(cls, path: Path | None) -> Auth:
        """Read ``TOKEN USER [PROJECT ...]`` lines (``#`` starts a comment)."""
        auth = cls()
        if path is None:
            return auth
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            words = raw.split("#", 1)[0].split()
            if not words:
                continue
            if len(words) < 2 or len(words[0]) < 16:
                raise ConfigError(
                    f"{path}:{number}: want 'TOKEN USER [PROJECT ...]' with a token of 16+ chars"
                )
            auth.tokens[words[0]] = User(words[1], frozenset(words[2:]))
        if not auth.tokens:
            raise ConfigError(f"{path}: no tokens in the token file")
        return auth

    def by_token(self, token: str) -> User | None:
        # Compare every token in constant time so a guess learns nothing from timing.
        found = None
        for known, user in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = user
        return found

    def local(self) -> User:
        return User(LOCAL_USER, all_projects=True)

    # -- the page's cookie: "user|expiry|nonce|mac"; the token itself never leaves the form.

    def session_for(self, token: str) -> str | None:
        user = self.by_token(token)
        if user is None:
            return None
        return self._sign(
            f"{_b64(user.name)}|{int(time.time()) + SESSION_S}|{secrets.token_hex(8)}"
        )

    def local_session(self) -> str:
        return self._sign(
            f"{_b64(LOCAL_USER)}|{int(time.time()) + SESSION_S}|{secrets.token_hex(8)}"
        )

    def by_session(self, cookie: str) -> User | None:
        body, _, mac = cookie.rpartition("|")
        if not body or not hmac.compare_digest(mac, self._mac(body)):
            return None
        name_b64, expiry, _nonce = [*body.split("|"), "", "", ""][:3]
        if not expiry.isdigit() or int(expiry) < time.time():
            return None
        name = _unb64(name_b64)
        if self.open:
            return self.local() if name == LOCAL_USER else None
        for user in self.tokens.values():
            if user.name == name:
                return user
        return None

    def csrf_for(self, cookie: str) -> str:
        """The form token bound to this session cookie (double-submit, signed)."""
        return self._mac("csrf|" + cookie)

    def csrf_ok(self, cookie: str, token: str) -> bool:
        return bool(cookie) and hmac.compare_digest(self.csrf_for(cookie), token)

    def _sign(self, body: str) -> str:
        return f"{body}|{self._mac(body)}"

    def _mac(self, body: str) -> str:
        return hmac.new(self.key, body.encode(), hashlib.sha256).hexdigest()


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _unb64(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
