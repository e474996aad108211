"""Postmark's bounce and spam complaint webhooks: one JSON object per request, protected by
HTTP Basic credentials written into the webhook URL (Postmark does not sign its requests).

Mapped: `RecordType: Bounce` with a hard `Type` (HardBounce, BadEmailAddress) is a hard
bounce, with a soft one (SoftBounce, Transient, DnsError, Blocked ...) a soft one; types that
are not bounces (AutoResponder, Subscribe, ChallengeVerification ...) are left out.
`RecordType: SpamComplaint` is a complaint.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

import orjson

from pertinent.delivery.feedback import Bounce, Complaint, Feedback
from pertinent.delivery.settings import PostmarkSettings
from pertinent.delivery.webhooks import Unauthentic
from pertinent.errors import InputError

HARD = ("HardBounce", "BadEmailAddress")
SOFT = ("SoftBounce", "Transient", "DnsError", "Blocked", "DMARCPolicy", "Unknown")


class PostmarkWebhook:
    def __init__(self, settings: PostmarkSettings):
        self._expected = f"{settings.username}:{settings.password}".encode()

    def verify(self, authorization: str | None) -> None:
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            given = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            given = b""
        if scheme.lower() != "basic" or not hmac.compare_digest(given, self._expected):
            raise Unauthentic("wrong or missing HTTP Basic credentials")

    def read(self, body: bytes, authorization: str | None) -> list[Feedback]:
        """The bounce or complaint in an authenticated request."""
        self.verify(authorization)
        try:
            record = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc}", where="body") from None
        if not isinstance(record, dict):
            raise InputError("expected a JSON object", where="body")
        found = _feedback(record)
        return [found] if found is not None else []


def _feedback(record: dict[str, Any]) -> Feedback | None:
    address = record.get("Email") if isinstance(record.get("Email"), str) else None
    kind = record.get("Type")
    # Postmark's MessageID is its own; the address finds the email (`Outbox.latest_to`).
    match record.get("RecordType", "Bounce"):
        case "SpamComplaint":
            return Complaint("postmark", address, None)
        case "Bounce" if kind in HARD or kind in SOFT:
            reason = f"{kind}: {record.get('Description') or ''} {record.get('Details') or ''}"
            return Bounce("postmark", address, None, hard=kind in HARD, reason=reason.strip())
        case _:
            return None
