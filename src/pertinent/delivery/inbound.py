"""The bounce address: a small SMTP server (aiosmtpd) that takes delivery status notifications
and abuse reports for the VERP return path and records them.

It accepts mail only for the bounce address and its VERP forms (`bounces+<id>@…`), so it
relays nothing and is no open mailbox. A message is answered 250 once its reports are
committed (the log and the suppression list), 451 when they could not be, so the reporting
server tries again; a message that is no report (an auto-reply) is accepted and dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiosmtpd.smtp import SMTP

from pertinent.delivery.feedback import Feedback, FeedbackReport
from pertinent.delivery.reports import read_report, verp_message_id
from pertinent.delivery.settings import BounceSettings
from pertinent.errors import ConfigError

log = logging.getLogger("pertinent.delivery")
MAX_REPORT_BYTES = 10 * 1024 * 1024  # a DSN may carry the whole returned message

Record = Callable[[Sequence[Feedback]], Awaitable[FeedbackReport]]


def listen_address(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"not host:port: {listen!r}", where="delivery.bounces.listen")
    return host.strip("[]"), int(port)


class _BounceHandler:
    def __init__(self, bounce_address: str, record: Record):
        self._address = bounce_address.lower()
        self._record = record

    def _ours(self, address: str) -> bool:
        bare = address.strip().strip("<>").lower()
        return bare == self._address or verp_message_id(bare, self._address) is not None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if not self._ours(address):
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content or b"")
        reports = read_report(raw, list(envelope.rcpt_tos), self._address)
        if not reports:
            return "250 OK, not a report: nothing recorded"
        try:
            outcome = await self._record(reports)
        except Exception:
            log.exception("could not record %d bounce/complaint reports", len(reports))
            return "451 4.3.0 cannot record the report now, try again later"
        log.info("recorded %d reports (%d about no email of ours)", len(reports), outcome.unmatched)
        return "250 OK, recorded"


async def serve_bounces(settings: BounceSettings, record: Record) -> asyncio.Server:
    """Listen on `settings.listen` until the returned server is closed."""
    host, port = listen_address(settings.listen)
    loop = asyncio.get_running_loop()
    handler = _BounceHandler(settings.address, record)
    domain = settings.address.rpartition("@")[2]
    return await loop.create_server(
        lambda: SMTP(handler, data_size_limit=MAX_REPORT_BYTES, hostname=domain, loop=loop),
        host,
        port,
    )
