"""SendGrid's Event Webhook: a JSON array of events, signed with ECDSA (P-256, SHA-256) over
the timestamp header followed by the raw body; the verification key is the base64 public key
SendGrid shows in its settings ("Signed Event Webhook").

Mapped: `bounce` (hard, but `type: blocked` is soft: the receiving side blocked this message
for now), `dropped` for an address SendGrid already knows bounced (hard), and `spamreport`
(a complaint). Other events (processed, delivered, open ...) are not ours to record here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pertinent.delivery.feedback import Bounce, Complaint, Feedback, message_id_of
from pertinent.delivery.webhooks import Unauthentic
from pertinent.errors import ConfigError, InputError

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_HARD_DROPS = ("Bounced Address", "Invalid")


def _public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(base64.b64decode(encoded))
    except (ValueError, binascii.Error) as exc:
        where = "delivery.webhooks.sendgrid"
        raise ConfigError(f"not a base64 public key: {exc}", where=where) from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError("not an ECDSA public key", where="delivery.webhooks.sendgrid")
    return key


class SendgridWebhook:
    def __init__(self, public_key: str):
        self._key = _public_key(public_key)

    def verify(self, body: bytes, signature: str | None, timestamp: str | None) -> None:
        if not signature or not timestamp:
            raise Unauthentic(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
        try:
            self._key.verify(
                base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
            )
        except (InvalidSignature, ValueError, binascii.Error):
            raise Unauthentic("the signature does not match the body") from None

    def read(self, body: bytes, signature: str | None, timestamp: str | None) -> list[Feedback]:
        """The bounces and complaints in a verified request."""
        self.verify(body, signature, timestamp)
        try:
            events = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc}", where="body") from None
        if not isinstance(events, list):
            raise InputError("expected a JSON array of events", where="body")
        return [f for event in events if (f := _feedback(event)) is not None]


def _feedback(event: Any) -> Feedback | None:
    if not isinstance(event, dict):
        return None
    address = event.get("email") if isinstance(event.get("email"), str) else None
    message_id = message_id_of(
        event.get("smtp-id") if isinstance(event.get("smtp-id"), str) else None
    )
    reason = f"{event.get('status', '')} {event.get('reason', '')}".strip()
    match event.get("event"):
        case "bounce":
            hard = event.get("type") != "blocked"
            return Bounce("sendgrid", address, message_id, hard=hard, reason=reason)
        case "dropped" if event.get("reason") in _HARD_DROPS:
            return Bounce("sendgrid", address, message_id, hard=True, reason=reason)
        case "spamreport":
            return Complaint("sendgrid", address, message_id)
        case _:
            return None
