"""The bounce address: emails go out with a VERP return path, and the sender process's SMTP
server takes the delivery status notifications (RFC 3464) and abuse reports (RFC 5965) that
come back, sent to it over real SMTP, into the log and the suppression list."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
import yaml
from delivery.picky import free_port
from serve_process import wait_for

from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.sink import SmtpSink
from pertinent.processor.roles import run_sender

BOUNCES = "bounces@bounces.example.com"
SAMPLES = Path(__file__).parent / "samples"


class Served:
    def __init__(self, system: System, port: int, message_id: str):
        self.system = system
        self.port = port
        self.message_id = message_id  # of the welcome email sent to ann@example.com

    def report(self, sample: str, rcpt: str | None = None) -> None:
        """Send a sample report, filled in for the welcome email, as a receiving MTA would."""
        text = (SAMPLES / sample).read_text().format(message_id=self.message_id)
        data = text.replace("\n", "\r\n").encode()
        to = rcpt or f"bounces+{self.message_id}@bounces.example.com"

        async def deliver() -> None:
            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=self.port)
            await smtp.connect()
            await smtp.mail("")  # MAIL FROM:<>, as reports are sent (RFC 3464 section 2)
            await smtp.rcpt(to)
            await smtp.data(data)
            await smtp.quit()

        asyncio.run(deliver())

    def events(self, name: str) -> list[dict[str, Any]]:
        with self.system.storage.snapshot() as tx:
            logged = tx.log.read_after(0, 10_000)
        return [
            {**e.event.properties, "user": e.event.user_id} for e in logged if e.event.name == name
        ]

    def suppressed(self, reason: str) -> bool:
        with self.system.storage.snapshot() as tx:
            if reason == "bounced":
                return tx.suppressions.reasons(["ann@example.com"]) == {"ann@example.com": reason}
            return bool(tx.suppressions.suppressed(["ann@example.com"]))


@pytest.fixture
def served(workspace: Path, clock: SimClock, sink: SmtpSink) -> Iterator[Served]:
    port = free_port()
    path = workspace / "pertinent.yaml"
    settings = yaml.safe_load(path.read_text())
    settings["delivery"]["bounces"] = {"address": BOUNCES, "listen": f"127.0.0.1:{port}"}
    path.write_text(yaml.safe_dump(settings))
    system = build_system(load_workspace(workspace), clock=clock)
    system.ingestor.ingest(
        [
            {"type": "identify", "userId": "ann", "traits": {"email": "ann@example.com"}},
            {"type": "track", "event": "Signed Up", "userId": "ann"},
        ]
    )
    system.run_until_idle()
    [welcome] = sink.messages
    message_id = str(welcome.message["Message-ID"]).strip("<>").partition("@")[0]
    assert welcome.envelope_from == f"bounces+{message_id}@bounces.example.com", "VERP"
    assert welcome.message["From"] == "Pertinent Shop <shop@example.com>", "From unchanged"

    stop = threading.Event()
    sender = threading.Thread(target=run_sender, args=(system, stop), daemon=True)
    sender.start()
    try:
        wait_for(lambda: _listening(port), "the sender serves the bounce address")
        yield Served(system, port, message_id)
    finally:
        stop.set()
        sender.join(10)
        system.close()


def _listening(port: int) -> bool:
    async def knock() -> bool:
        try:
            smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=1)
            await smtp.connect()
            await smtp.quit()
            return True
        except (aiosmtplib.SMTPException, OSError):
            return False

    return asyncio.run(knock())


def test_a_dsn_for_a_mailbox_that_does_not_exist_is_a_hard_bounce_that_suppresses(
    served: Served,
) -> None:
    served.report("dsn_failed.eml")

    [bounce] = served.events("email_bounced")
    assert (bounce["user"], bounce["message_id"], bounce["email"]) == (
        "ann",
        served.message_id,
        "ann@example.com",
    )
    assert (bounce["bounce"], bounce["source"], bounce["template"]) == ("hard", "dsn", "welcome")
    assert "5.1.1" in bounce["reason"] and "User unknown" in bounce["reason"]
    assert served.suppressed("bounced"), "no mail at all goes there again"


def test_a_dsn_sent_twice_is_recorded_once(served: Served) -> None:
    served.report("dsn_failed.eml")
    served.report("dsn_failed.eml")
    assert len(served.events("email_bounced")) == 1


def test_a_delayed_delivery_is_a_soft_bounce_that_suppresses_nothing(served: Served) -> None:
    served.report("dsn_delayed.eml")

    [bounce] = served.events("email_bounced")
    assert (bounce["bounce"], bounce["message_id"]) == ("soft", served.message_id)
    assert not served.suppressed("any")


def test_an_arf_complaint_is_logged_and_stops_marketing_mail(served: Served) -> None:
    # Feedback loops send to the address registered with them, not to the VERP address.
    served.report("arf_abuse.eml", rcpt=BOUNCES)

    [complaint] = served.events("email_complained")
    assert (complaint["user"], complaint["message_id"]) == ("ann", served.message_id)
    assert (complaint["feedback_type"], complaint["source"]) == ("abuse", "arf")
    assert served.suppressed("complained")
    assert not served.suppressed("bounced"), "a complaint is not a dead mailbox"


def test_a_report_naming_only_the_returned_message_id_finds_its_email(served: Served) -> None:
    served.report("dsn_failed.eml", rcpt=BOUNCES)
    [bounce] = served.events("email_bounced")
    assert bounce["message_id"] == served.message_id


def test_the_bounce_address_takes_mail_for_itself_only_and_ignores_what_is_no_report(
    served: Served,
) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientRefused):
        served.report("dsn_failed.eml", rcpt="someone@bounces.example.com")
    served.report("auto_reply.eml")
    assert served.events("email_bounced") == []
    assert served.events("email_complained") == []
