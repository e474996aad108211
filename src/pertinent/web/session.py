"""The dashboard's browser session: a signed cookie given for an admin key.

The admin API takes a Bearer key, which a browser cannot send by itself. So the login form
takes the key once, checks it like the API does, and answers with a cookie that names the
key (by a keyed digest of its stored hash, never the key) and when the session ends, signed
with HMAC-SHA256 under a key derived from the workspace secret. Nothing is kept on the
server: a session ends when it expires, when its key is removed from the workspace (the
digest then names no key), or when the secret changes.

Forms that change something carry a CSRF token bound to the session (a keyed digest of its
random nonce): another site can neither read it nor, with `SameSite=Strict`, send the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

COOKIE = "pertinent_session"
LIFETIME = timedelta(hours=12)
_PURPOSE = b"pertinent dashboard session v1"


@dataclass(frozen=True)
class Session:
    key_id: str  # a keyed digest of the admin key's stored hash
    name: str  # the admin key's name in the workspace, shown on every page
    expires: datetime
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and checks session cookies and their CSRF tokens; time comes from the caller."""

    def __init__(self, secret: str):
        self._key = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()

    def _mac(self, label: bytes, data: bytes) -> str:
        return _b64(hmac.new(self._key, label + b"\0" + data, hashlib.sha256).digest())

    def key_id(self, stored_hash: str) -> str:
        """What a cookie says of the admin key: useless to anyone without the secret."""
        return self._mac(b"key", stored_hash.encode())[:22]

    def issue(self, stored_hash: str, name: str, now: datetime) -> str:
        """A cookie value for a session of the admin key with this stored hash."""
        body = orjson.dumps(
            {
                "k": self.key_id(stored_hash),
                "n": name,
                "e": int((now + LIFETIME).timestamp()),
                "r": secrets.token_urlsafe(16),
            }
        )
        return f"{_b64(body)}.{self._mac(b'session', body)}"

    def verify(
        self, cookie: str | None, admin_hashes: Collection[str], now: datetime
    ) -> Session | None:
        """The session the cookie holds, if its signature is right, it has not expired and
        its key is still one of `admin_hashes`; else None."""
        if not cookie or cookie.count(".") != 1:
            return None
        encoded, mac = cookie.split(".")
        try:
            body = _unb64(encoded)
        except ValueError:
            return None
        if not hmac.compare_digest(mac, self._mac(b"session", body)):
            return None
        data = orjson.loads(body)
        expires = datetime.fromtimestamp(data["e"], UTC)
        if expires <= now or data["k"] not in {self.key_id(h) for h in admin_hashes}:
            return None
        return Session(data["k"], data["n"], expires, data["r"])

    def csrf_token(self, session: Session) -> str:
        return self._mac(b"csrf", session.nonce.encode())
