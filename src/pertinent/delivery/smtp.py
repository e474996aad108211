"""SMTP delivery with aiosmtplib, over one connection kept open between messages.

A connection that went stale while idle (the server hung up) is opened again once, at once;
any other failure drops the connection and is reported, retryable or not by its code. A
server that accepts the connection and never answers costs `timeout` per attempt.
"""

from __future__ import annotations

import asyncio
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
    def from_url(cls, url: str, *, timeout: float = 30.0) -> SmtpSettings:
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
            timeout=timeout,
        )


class SmtpTransport:
    def __init__(self, settings: SmtpSettings):
        self._settings = settings
        self._client: aiosmtplib.SMTP | None = None
        # A connection lives on the event loop that opened it; a caller that runs each round
        # on a new loop (asyncio.run) gets a new connection.
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            use_tls=s.use_tls,
            start_tls=s.starttls,
            timeout=s.timeout,
        )
        await client.connect()
        if s.username:
            await client.login(s.username, s.password or "")
        return client

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            client.close()

    async def send(self, message: EmailMessage) -> None:
        """Send one message; serialized here, because aiosmtplib's own serialization folds
        List-Unsubscribe into encoded-words (see `message.WIRE_POLICY`)."""
        sender, recipients = envelope(message)
        data = message_bytes(message)
        if self._loop is not asyncio.get_running_loop():
            self._client, self._loop = None, asyncio.get_running_loop()
        for reused in (True, False):
            try:
                fresh = self._client is None or not self._client.is_connected
                if fresh:
                    self._client = await self._connect()
                assert self._client is not None
                await self._client.sendmail(sender, recipients, data)
                return
            except aiosmtplib.SMTPServerDisconnected as exc:
                await self._drop()
                if reused and not fresh:
                    continue  # the idle connection had gone stale: once more, on a new one
                raise DeliveryError(f"SMTP server unreachable: {exc}", retryable=True) from exc
            except aiosmtplib.SMTPRecipientsRefused as exc:
                await self._drop()
                codes = [r.code for r in exc.recipients]
                raise DeliveryError(
                    "; ".join(
                        f"SMTP {r.code} for {r.recipient}: {r.message}" for r in exc.recipients
                    ),
                    retryable=any(code < 500 for code in codes),
                ) from exc
            except aiosmtplib.SMTPResponseException as exc:
                await self._drop()
                raise DeliveryError(
                    f"SMTP {exc.code}: {exc.message}", retryable=exc.code < 500
                ) from exc
            except (aiosmtplib.SMTPException, OSError) as exc:
                await self._drop()
                raise DeliveryError(f"SMTP server unreachable: {exc}", retryable=True) from exc

    async def close(self) -> None:
        await self._drop()
