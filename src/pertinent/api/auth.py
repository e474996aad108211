"""API keys: write keys (HTTP Basic user, as Segment sends them) and admin keys (Bearer).

The workspace stores only each key's hash (`config.key_hash`); a request's key is hashed once
and looked up. The lookup is by a hash the caller cannot steer, so its timing says nothing
about the stored keys.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from fastapi import HTTPException, Request

from pertinent.config import KeySettings, WriteSide, key_hash


@dataclass(frozen=True)
class KeyRing:
    """The keys a workspace accepts, by hash."""

    write: Mapping[str, WriteSide]
    admin: frozenset[str]

    @classmethod
    def from_settings(cls, keys: KeySettings) -> KeyRing:
        return cls(
            write={k.hash: k.side for k in keys.write},
            admin=frozenset(k.hash for k in keys.admin),
        )

    def write_side(self, key: object) -> WriteSide | None:
        """Which side the write key is for; None if it is not one."""
        return self.write.get(key_hash(key)) if isinstance(key, str) else None

    def is_admin(self, key: str) -> bool:
        return key_hash(key) in self.admin


def basic_user(header: str | None) -> str | None:
    """The user part of an HTTP Basic Authorization header, if there is one."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0]


def require_write_key(request: Request, keys: KeyRing) -> WriteSide:
    """The side of the request's write key; 401 without a known one."""
    user = basic_user(request.headers.get("authorization"))
    if user is None:
        raise HTTPException(401, "missing write key: send it as the HTTP Basic user name")
    side = keys.write_side(user)
    if side is None:
        raise HTTPException(401, "unknown write key")
    return side


def require_admin_key(request: Request, keys: KeyRing) -> None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise HTTPException(401, "missing admin key: send 'Authorization: Bearer <key>'")
    if not keys.is_admin(header[7:].strip()):
        raise HTTPException(401, "unknown admin key")


def admin_key_dependency(keys: KeyRing) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency that checks the admin key. Async on purpose: FastAPI runs a sync
    dependency in its thread pool, and that hand-off costs more than the check itself."""

    async def check(request: Request) -> None:
        require_admin_key(request, keys)

    return check
