"""API keys: write keys (HTTP Basic user, as Segment sends them) and admin keys (Bearer)."""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request


def _known(key: str, keys: list[str]) -> bool:
    return any(hmac.compare_digest(key.encode(), k.encode()) for k in keys)


def basic_user(header: str | None) -> str | None:
    """The user part of an HTTP Basic Authorization header, if there is one."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.split(":", 1)[0]


def require_write_key(request: Request, keys: list[str]) -> None:
    user = basic_user(request.headers.get("authorization"))
    if user is None:
        raise HTTPException(401, "missing write key: send it as the HTTP Basic user name")
    if not _known(user, keys):
        raise HTTPException(401, "unknown write key")


def check_write_key(key: object, keys: list[str]) -> bool:
    return isinstance(key, str) and _known(key, keys)


def require_admin_key(request: Request, keys: list[str]) -> None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise HTTPException(401, "missing admin key: send 'Authorization: Bearer <key>'")
    if not _known(header[7:].strip(), keys):
        raise HTTPException(401, "unknown admin key")


def admin_key_dependency(keys: list[str]) -> Callable[[Request], Awaitable[None]]:
    """A FastAPI dependency that checks the admin key. Async on purpose: FastAPI runs a sync
    dependency in its thread pool, and that hand-off costs more than the check itself."""

    async def check(request: Request) -> None:
        require_admin_key(request, keys)

    return check
