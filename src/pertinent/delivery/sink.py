"""A local SMTP server that keeps what it receives: the demo's mailbox and the tests' witness."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMessage:
    envelope_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


class _Handler:
    def __init__(self, sink: SmtpSink):
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        parsed = message_from_bytes(raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self._sink.keep(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), raw, parsed))
        return "250 Message accepted"


class SmtpSink:
    """aiosmtpd in a background thread; optionally writes each message as a .eml file."""

    def __init__(self, store_dir: Path | None = None):
        self._store = store_dir
        self._lock = threading.Lock()
        self._messages: list[ReceivedMessage] = []
        self._controller: Controller | None = None
        self.port = 0

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        if self._store is not None:
            self._store.mkdir(parents=True, exist_ok=True)
        if port == 0:
            # aiosmtpd checks it started by connecting to the port, so it needs a real one.
            with socket.socket() as probe:
                probe.bind((host, 0))
                port = int(probe.getsockname()[1])
        self._controller = Controller(_Handler(self), hostname=host, port=port)
        self._controller.start()
        self.port = port
        return self.port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def keep(self, received: ReceivedMessage) -> None:
        with self._lock:
            self._messages.append(received)
            count = len(self._messages)
        if self._store is not None:
            (self._store / f"{count:06d}.eml").write_bytes(received.raw)

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)
