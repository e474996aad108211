"""Tracking tokens: sealed, so a link neither reveals nor lets anyone change what it carries.

A token is the email's Message-ID, the day the email was made and, for a click, the
destination, encrypted and authenticated with AES-SIV (RFC 5297) under a key derived from the
workspace secret. Nobody can read a profile id, an address or a destination out of a link
(today's tokens carried the user id in readable base64 JSON), and nobody can make one: a
click redirects only to a URL that the renderer sealed, after checking it against the link
rules (`content/links.py`). The purpose is authenticated with the token, so an open token
cannot be replayed as an unsubscribe.

AES-SIV is deterministic: the same email gives the same links every time it is rendered
(golden files, a re-render after a crash) and equal tokens say only that they are equal.
The email, not the person, is what a token names; the outbox row says who got it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from pertinent.errors import PertinentError

Purpose = Literal["click", "open", "unsubscribe", "preferences", "view"]

_VERSION = 1
_HEX_ID = 0x80  # flag on the version byte: the Message-ID is 32 hex digits, packed to 16 bytes
_EPOCH = date(2024, 1, 1)
_HEX = re.compile("[0-9a-f]{32}")  # days are counted from here in two bytes (until 2203)


class InvalidToken(PertinentError):
    """A token was altered, truncated, sealed under another secret or for another purpose."""


@dataclass(frozen=True)
class Claims:
    """What a token says: which email, made on which day, and where a click goes."""

    message_id: str
    issued: date
    url: str | None = None

    def expired(self, now: datetime, valid_days: int) -> bool:
        """Whether the email is older than `valid_days` at `now`."""
        return now.astimezone(UTC).date() - self.issued > timedelta(days=valid_days)


class TrackingTokens:
    def __init__(self, secret: str):
        key = hashlib.blake2b(secret.encode(), person=b"pertinent.links", digest_size=64)
        self._aead = AESSIV(key.digest())

    def seal(self, purpose: Purpose, message_id: str, issued: date, url: str | None = None) -> str:
        """A token for `purpose` naming the email (and a click's destination)."""
        if len(message_id) == 32 and _HEX.fullmatch(message_id):
            head = struct.pack(">BH", _VERSION | _HEX_ID, (issued - _EPOCH).days)
            ref = bytes.fromhex(message_id)
        else:
            ref = message_id.encode()
            head = struct.pack(">BHB", _VERSION, (issued - _EPOCH).days, len(ref))
        payload = head + ref + (url or "").encode()
        sealed = self._aead.encrypt(payload, [purpose.encode()])
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, purpose: Purpose, token: str) -> Claims:
        """The token's claims, if it was sealed here for `purpose`; InvalidToken otherwise."""
        try:
            sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = self._aead.decrypt(sealed, [purpose.encode()])
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise InvalidToken(f"invalid {purpose} token") from exc
        flags, days = struct.unpack_from(">BH", payload)
        if flags & _HEX_ID:
            message_id, rest = payload[3:19].hex(), payload[19:]
        else:
            size = payload[3]
            message_id, rest = payload[4 : 4 + size].decode(), payload[4 + size :]
        issued = _EPOCH + timedelta(days=days)
        return Claims(message_id, issued, rest.decode() if rest else None)
