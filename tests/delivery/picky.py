"""An SMTP server with opinions (aiosmtpd): it refuses or defers recipients by their name,
counts its sessions and how many messages it is taking in at once."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any

from aiosmtpd.controller import Controller

# Local part prefix -> the answer to RCPT TO or to the end of DATA.
RCPT_ANSWERS = {"gone": "550 5.1.1 <{}>: no such user", "busy": "451 4.2.1 mailbox busy, later"}
DATA_ANSWERS = {"spammy": "554 5.7.1 message refused as spam"}


class Picky:
    def __init__(self, data_seconds: float = 0.0) -> None:
        self.sessions = 0
        self.accepted: list[tuple[str, str, bytes]] = []  # (mail from, rcpt to, data)
        self.in_flight = 0
        self.most_in_flight = 0
        self.data_seconds = data_seconds
        self.relent = False  # once True, "busy" recipients are accepted
        self._lock = threading.Lock()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        prefix = address.split("@")[0].rstrip("0123456789")
        answer = RCPT_ANSWERS.get(prefix)
        if answer is not None and not (prefix == "busy" and self.relent):
            return answer.format(address)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.data_seconds)
        finally:
            with self._lock:
                self.in_flight -= 1
        [rcpt] = envelope.rcpt_tos
        answer = DATA_ANSWERS.get(rcpt.split("@")[0].rstrip("0123456789"))
        if answer is not None:
            return answer
        self.accepted.append((envelope.mail_from, rcpt, bytes(envelope.original_content)))
        return "250 OK queued"

    @property
    def recipients(self) -> list[str]:
        return [rcpt for _, rcpt, _ in self.accepted]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PickyServer:
    def __init__(self, handler: Picky):
        self.handler = handler
        self.port = free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
