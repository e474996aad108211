"""Amazon SES bounce and complaint notifications, delivered by Amazon SNS over HTTPS.

SNS signs every message: RSA over a canonical string of some of its fields (SHA-1 for
SignatureVersion 1, SHA-256 for 2), with a certificate it names by URL. A message is
accepted only when that URL is HTTPS on an SNS host of amazonaws.com (anyone can host a
certificate elsewhere), the signature verifies with the certificate's key, and the topic is
one the workspace lists. A SubscriptionConfirmation is confirmed by visiting its
SubscribeURL, under the same checks.

The SES notification in `Message` is documented JSON: `notificationType` (or `eventType`
for configuration-set event publishing) Bounce or Complaint, with the recipients concerned
and the original `mail`, whose headers carry our Message-ID when SES was asked to include
them.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pertinent.delivery.feedback import Bounce, Complaint, Feedback, message_id_of
from pertinent.delivery.settings import SesSettings
from pertinent.delivery.webhooks import Unauthentic
from pertinent.errors import InputError

_SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED["UnsubscribeConfirmation"] = _SIGNED["SubscriptionConfirmation"]

Fetch = Callable[[str], bytes]  # GET an https URL, return the body
FETCH_TIMEOUT_SECONDS = 10.0


def fetch_https(url: str) -> bytes:
    """The body at `url` (only ever an SNS URL checked by `_amazon_url`)."""
    answer = httpx.get(url, timeout=FETCH_TIMEOUT_SECONDS)
    answer.raise_for_status()
    return answer.content


def _amazon_url(url: object, what: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme != "https" or not _SNS_HOST.fullmatch(parts.hostname or ""):
        raise Unauthentic(f"{what} is not an https URL of Amazon SNS: {str(url)[:120]!r}")
    return str(url)


def string_to_sign(message: dict[str, Any]) -> bytes:
    """The canonical form SNS signs: `Name\\nvalue\\n` for each signed field it has."""
    names = _SIGNED.get(str(message.get("Type")))
    if names is None:
        raise InputError(f"unknown SNS message type {message.get('Type')!r}", where="Type")
    return "".join(
        f"{name}\n{message[name]}\n" for name in names if message.get(name) is not None
    ).encode()


class SesWebhook:
    """`fetch` GETs https URLs (the signing certificate, a subscription to confirm); the
    default goes over the network, tests give their own."""

    def __init__(self, settings: SesSettings, fetch: Fetch):
        self._topics = set(settings.topic_arns)
        self._fetch = fetch
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def _key(self, url: str) -> rsa.RSAPublicKey:
        with self._lock:
            if url in self._keys:
                return self._keys[url]
        try:
            key = x509.load_pem_x509_certificate(self._fetch(url)).public_key()
        except ValueError as exc:
            raise Unauthentic(f"the signing certificate does not load: {exc}") from None
        if not isinstance(key, rsa.RSAPublicKey):
            raise Unauthentic("the signing certificate does not hold an RSA key")
        with self._lock:
            self._keys[url] = key
        return key

    def verify(self, message: dict[str, Any]) -> None:
        if message.get("TopicArn") not in self._topics:
            raise Unauthentic(f"topic {message.get('TopicArn')!r} is not in topic_arns")
        algorithm: hashes.HashAlgorithm
        match message.get("SignatureVersion"):
            case "1":
                algorithm = hashes.SHA1()
            case "2":
                algorithm = hashes.SHA256()
            case other:
                raise Unauthentic(f"unknown SignatureVersion {other!r}")
        key = self._key(_amazon_url(message.get("SigningCertURL"), "SigningCertURL"))
        try:
            signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
            key.verify(signature, string_to_sign(message), padding.PKCS1v15(), algorithm)
        except (InvalidSignature, binascii.Error):
            raise Unauthentic("the SNS signature does not match the message") from None

    def read(self, body: bytes) -> list[Feedback]:
        """The bounces and complaints in a verified SNS message; a subscription to one of the
        workspace's topics is confirmed on the way (and has none)."""
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"not JSON: {exc}", where="body") from None
        if not isinstance(message, dict):
            raise InputError("expected an SNS message (a JSON object)", where="body")
        self.verify(message)
        match message["Type"]:
            case "SubscriptionConfirmation":
                self._fetch(_amazon_url(message.get("SubscribeURL"), "SubscribeURL"))
                return []
            case "Notification":
                return notification_feedback(message.get("Message"))
            case _:
                return []


def _original_message_id(mail: dict[str, Any]) -> str | None:
    if (found := _text(_object(mail, "commonHeaders").get("messageId"))) is not None:
        return message_id_of(found)
    for header in _list(mail, "headers"):
        if str(header.get("name", "")).lower() == "message-id":
            return message_id_of(_text(header.get("value")))
    return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _object(container: dict[str, Any], key: str) -> dict[str, Any]:
    value = container.get(key)
    return value if isinstance(value, dict) else {}


def _list(container: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = container.get(key)
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _reason(bounce: dict[str, Any], recipient: dict[str, Any]) -> str:
    kind = " ".join(str(p) for p in (bounce.get("bounceType"), bounce.get("bounceSubType")) if p)
    detail = recipient.get("diagnosticCode") or recipient.get("status")
    return f"{kind}: {detail}" if detail else kind


def notification_feedback(text: object) -> list[Feedback]:
    """The SES notification (the SNS `Message`, itself JSON) as bounces or complaints."""
    try:
        notice = orjson.loads(text) if isinstance(text, str) else None
    except orjson.JSONDecodeError:
        notice = None
    if not isinstance(notice, dict):
        raise InputError("the SNS Message is not an SES notification", where="Message")
    message_id = _original_message_id(_object(notice, "mail"))
    kind = notice.get("notificationType") or notice.get("eventType")
    if kind == "Bounce":
        bounce = _object(notice, "bounce")
        hard = bounce.get("bounceType") == "Permanent"
        return [
            Bounce("ses", _text(r.get("emailAddress")), message_id, hard, _reason(bounce, r))
            for r in _list(bounce, "bouncedRecipients")
        ]
    if kind == "Complaint":
        complaint = _object(notice, "complaint")
        feedback_type = str(complaint.get("complaintFeedbackType") or "abuse")
        return [
            Complaint("ses", _text(r.get("emailAddress")), message_id, feedback_type)
            for r in _list(complaint, "complainedRecipients")
        ]
    return []  # Delivery, Send, Open ...: not ours to record here
