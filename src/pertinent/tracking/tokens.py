"""Signed tracking tokens (itsdangerous): what a link claims cannot be changed by its reader.

A click token carries the destination URL itself, so the redirect endpoint only ever sends
people where the email said; each purpose has its own salt, so an open token cannot be replayed
as an unsubscribe.
"""

from __future__ import annotations

from typing import Literal

from itsdangerous import BadSignature, URLSafeSerializer

from pertinent.errors import PertinentError

Purpose = Literal["click", "open", "unsubscribe", "preferences"]


class InvalidToken(PertinentError):
    """A token was altered, truncated, or signed for another purpose."""


class TokenSigner:
    def __init__(self, secret: str):
        self._serializers = {
            purpose: URLSafeSerializer(secret, salt=f"pertinent.{purpose}")
            for purpose in ("click", "open", "unsubscribe", "preferences")
        }

    def sign(self, purpose: Purpose, payload: dict[str, str]) -> str:
        return str(self._serializers[purpose].dumps(payload))

    def verify(self, purpose: Purpose, token: str) -> dict[str, str]:
        try:
            payload = self._serializers[purpose].loads(token)
        except BadSignature as exc:
            raise InvalidToken(f"invalid {purpose} token") from exc
        if not isinstance(payload, dict) or not all(isinstance(v, str) for v in payload.values()):
            raise InvalidToken(f"invalid {purpose} token")
        return payload
