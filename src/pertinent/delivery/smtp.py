"""SMTP delivery with aiosmtplib.

One connection per message keeps the code simple and failure handling obvious; at the rates a
single worker sends, connection setup on a local relay is a small cost.
"""

from __future__ import annotations

from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from pydantic import BaseModel, ConfigDict

from pertinent.delivery.message import envelope, message_bytes
from pertinent.errors import InputError, PertinentError


class DeliveryError(PertinentError):
    """The message was not accepted; `retryable` says whether trying later can help."""

    def __init__(self, message: str, *, retryable: bool):
        super().__init__(message)
        self.retryable = retryable


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_tls: bool = False
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """`smtp://user:pass@host:port?starttls=true` or `smtps://host:465`."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise InputError(
                f"not an SMTP URL: {url!r}",
                where="smtp.url",
                hint="write it like smtp://user:password@host:587?starttls=true or smtps://host:465",
            )
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError as exc:
            raise InputError(f"bad port in {url!r}", where="smtp.url") from exc
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            starttls=query.get("starttls") in ("1", "true", "yes"),
            use_tls=parts.scheme == "smtps",
        )


class SmtpTransport:
    def __init__(self, settings: SmtpSettings):
        self._settings = settings

    async def send(self, message: EmailMessage) -> None:
        """Send one message; serialized here, because aiosmtplib's own serialization folds
        List-Unsubscribe into encoded-words (see `message.WIRE_POLICY`)."""
        s = self._settings
        sender, recipients = envelope(message)
        try:
            await aiosmtplib.send(
                message_bytes(message),
                sender=sender,
                recipients=recipients,
                hostname=s.host,
                port=s.port,
                username=s.username,
                password=s.password,
                start_tls=s.starttls,
                use_tls=s.use_tls,
                timeout=s.timeout,
            )
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"SMTP {exc.code}: {exc.message}", retryable=exc.code < 500
            ) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP server unreachable: {exc}", retryable=True) from exc
