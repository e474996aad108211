"""SMTP delivery with aiosmtplib over a small pool of connections kept open between messages.

Each message is one transaction (MAIL, RCPT, DATA) on a connection taken from the pool, so
the stage that failed is known and the answer is classified by it:

- the relay cannot be reached, times out, hangs up, or answers 4xx anywhere: `temporary`,
  tried again later;
- 5xx at RCPT or DATA: the receiving side refuses this recipient or this message for good,
  `recipient` (a hard bounce: the address is suppressed);
- 5xx at MAIL FROM: the relay refuses our sender, which no retry fixes and which says nothing
  about the recipient, `message`.

After a refusal the connection is reset (RSET) and goes back to the pool; after any other
failure it is dropped. A connection that went stale while idle (the server hung up) is
replaced once, at once. A server that accepts the connection and never answers costs
`timeout` per attempt.
"""

from __future__ import annotations

import asyncio
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib
from pydantic import BaseModel, ConfigDict

from pertinent.delivery.message import Envelope
from pertinent.errors import InputError, PertinentError

Refusal = Literal["temporary", "recipient", "message"]
QUIT_SECONDS = 2.0  # a polite goodbye on shutdown; a server that does not answer is dropped


class DeliveryError(PertinentError):
    """The message was not accepted; `kind` says whether trying later can help and whether
    the recipient's address is to blame."""

    def __init__(self, message: str, *, kind: Refusal):
        super().__init__(message)
        self.kind: Refusal = kind

    @property
    def retryable(self) -> bool:
        return self.kind == "temporary"


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


def _refused(stage: str, exc: aiosmtplib.SMTPResponseException) -> DeliveryError:
    text = f"SMTP {exc.code} at {stage}: {exc.message}"
    if exc.code < 500:
        return DeliveryError(text, kind="temporary")
    return DeliveryError(text, kind="message" if stage == "MAIL FROM" else "recipient")


class SmtpTransport:
    """Up to `connections` messages in flight at once, each on its own connection."""

    def __init__(self, settings: SmtpSettings, *, connections: int = 4):
        self._settings = settings
        self._size = connections
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(connections)
        # Connections and the semaphore live on the event loop that made them; a caller that
        # runs each round on a new loop (asyncio.run) gets new ones.
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

    def _bind_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._idle, self._slots, self._loop = [], asyncio.Semaphore(self._size), loop

    async def send(self, envelope: Envelope) -> None:
        """Deliver one message, or raise `DeliveryError` saying what kind of failure it was.
        The bytes go as they are: the builder already wrote CRLF lines of at most 998."""
        self._bind_loop()
        async with self._slots:
            reused = self._idle.pop() if self._idle else None
            if reused is not None and reused.is_connected:
                try:
                    await self._transaction(reused, envelope, stale_ok=True)
                    return
                except _Stale:
                    reused.close()  # the idle connection had gone stale: once more, anew
            try:
                client = await self._connect()
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise DeliveryError(f"SMTP server unreachable: {exc}", kind="temporary") from exc
            await self._transaction(client, envelope, stale_ok=False)

    async def _transaction(
        self, client: aiosmtplib.SMTP, envelope: Envelope, *, stale_ok: bool
    ) -> None:
        stage = "MAIL FROM"
        try:
            await client.mail(envelope.mail_from)
            stage = "RCPT TO"
            await client.rcpt(envelope.rcpt_to)
            stage = "DATA"
            await client.data(envelope.data)
        except aiosmtplib.SMTPServerDisconnected as exc:
            client.close()
            if stale_ok and stage == "MAIL FROM":
                raise _Stale from exc
            raise DeliveryError(f"SMTP server hung up at {stage}: {exc}", kind="temporary") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if stale_ok and stage == "MAIL FROM" and exc.code == 421:
                client.close()  # "closing the connection": an idle timeout, said politely
                raise _Stale from exc
            await self._reset(client)
            raise _refused(stage, exc) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise DeliveryError(f"SMTP failed at {stage}: {exc}", kind="temporary") from exc
        self._idle.append(client)

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        """Clear the refused transaction and keep the connection; drop it if that fails."""
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
            return
        self._idle.append(client)

    async def close(self) -> None:
        self._bind_loop()  # connections of an earlier loop cannot be spoken to any more
        idle, self._idle = self._idle, []
        for client in idle:
            if client.is_connected:
                try:
                    await client.quit(timeout=QUIT_SECONDS)
                except (aiosmtplib.SMTPException, OSError):
                    client.close()


class _Stale(Exception):
    """An idle connection was found closed by the server before the transaction began."""
