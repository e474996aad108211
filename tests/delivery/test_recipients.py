"""Hostile data stays data: whoever holds the browser write key sets the `email` and name
traits, and none of it may add a recipient, dodge an unsubscribe or break a header. Each
person here signs up through ingestion and is processed and sent to a real SMTP server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import START
from hypothesis import given
from hypothesis import strategies as st

from pertinent.app import System
from pertinent.delivery.address import AddressError, normalize_address, stored_recipient
from pertinent.delivery.sink import SmtpSink

ATTACKER = "attacker@example.net"
INJECTIONS = {
    "a list": f"victim@example.org, {ATTACKER}",
    "a list with semicolons": f"victim@example.org;{ATTACKER}",
    "a trailing comma": "victim@example.org,",
    "angle brackets": "<victim@example.org>",
    "a display name": f"Friend <{ATTACKER}>",
    "a quoted display name": f'"victim@example.org" <{ATTACKER}>',
    "CR/LF and a header": f"victim@example.org\r\nBcc: {ATTACKER}",
    "a bare LF": f"victim@example.org\nTo: {ATTACKER}",
    "no domain": "victim",
    "not text": 42,
}


def _sign_up(system: System, user_id: str, email: Any, first_name: str = "Ann") -> None:
    result = system.ingestor.ingest(
        [
            {
                "type": "identify",
                "userId": user_id,
                "traits": {"email": email, "first_name": first_name},
            },
            {"type": "track", "event": "Signed Up", "userId": user_id},
        ]
    )
    assert result.rejections == [], "hostile traits are data: ingestion keeps them"


def _outcome(system: System, user_id: str) -> str:
    with system.storage.snapshot() as tx:
        events = tx.log.read_after(0, 100_000)
    [outcome] = [
        e.event.properties["outcome"]
        for e in events
        if e.event.name == "journey_step"
        and e.event.user_id == user_id
        and e.event.properties["transition"] == "send"
    ]
    return str(outcome)


def _recipients(sink: SmtpSink) -> list[str]:
    return [address for m in sink.messages for address in m.rcpt_tos]


@pytest.mark.parametrize("injection", sorted(INJECTIONS))
def test_an_email_trait_that_is_not_exactly_one_address_is_unsendable_with_its_reason(
    system: System, sink: SmtpSink, injection: str
) -> None:
    _sign_up(system, "mallory", INJECTIONS[injection])
    _sign_up(system, "bob", "bob@example.com")

    system.run_until_idle()

    assert _recipients(sink) == ["bob@example.com"], "only the real person got mail"
    assert all(ATTACKER not in m.raw.decode() for m in sink.messages)
    reason = _outcome(system, "mallory")
    assert reason.startswith("bad address:"), reason
    [failed] = [e for e in system.storage.reads.emails(10) if e.item.profile_id == "mallory"]
    assert (failed.status, failed.last_error) == ("failed", reason), "visible in the outbox"
    assert system.storage.reads.status().lag == 0, "nothing stopped the processor"


@pytest.mark.parametrize(
    "written", ["ann@example.com", " Ann@Example.COM ", "ANN@EXAMPLE.COM", "ann@example.com\n"]
)
def test_an_unsubscribed_address_gets_no_mail_however_the_trait_writes_it(
    system: System, sink: SmtpSink, written: str
) -> None:
    with system.storage.transaction() as tx:
        tx.suppressions.add("ann@example.com", None, "unsubscribed", START)
    _sign_up(system, "ann", written)

    system.run_until_idle()

    assert sink.messages == []
    assert _outcome(system, "ann") == "suppressed"


def test_the_normalized_address_is_the_one_recipient_and_the_to_header(
    system: System, sink: SmtpSink
) -> None:
    _sign_up(system, "zoe", "  Zoe@Example.COM ")

    system.run_until_idle()

    [received] = sink.messages
    assert received.rcpt_tos == ["zoe@example.com"]
    assert received.message.get_all("To") == ["zoe@example.com"]
    assert received.message.get_all("Cc") is None and received.message.get_all("Bcc") is None


def test_a_name_with_a_line_break_stays_inside_the_one_subject_line(
    system: System, sink: SmtpSink
) -> None:
    _sign_up(system, "mallory", "mallory@example.com", first_name=f"x\r\nBcc: {ATTACKER}")

    system.run_until_idle()

    [received] = sink.messages
    assert received.rcpt_tos == ["mallory@example.com"]
    assert received.message.get_all("Bcc") is None
    assert str(received.message["Subject"]) == f"Welcome to the shop, x Bcc: {ATTACKER}!"


def test_a_control_character_in_the_subject_fails_that_email_alone(
    workspace: Path, system: System, sink: SmtpSink
) -> None:
    (workspace / "templates" / "welcome" / "subject.liquid").write_text("Hi {{ profile.nickname }}")
    for user, nickname in (("mallory", "x\x1b[2Jy"), ("bob", "Bob")):
        system.ingestor.ingest(
            [
                {"type": "identify", "userId": user, "traits": {"email": f"{user}@example.com"}},
                {"type": "identify", "userId": user, "traits": {"nickname": nickname}},
                {"type": "track", "event": "Signed Up", "userId": user},
            ]
        )

    system.run_until_idle()

    assert _recipients(sink) == ["bob@example.com"]
    reason = _outcome(system, "mallory")
    assert reason.startswith("bad header: Subject contains a line break or a control"), reason


@given(st.one_of(st.text(max_size=80), st.emails().map(lambda e: f" {e.upper()} ")))
def test_a_normalized_address_is_one_plain_address_and_normalizing_it_again_changes_nothing(
    value: str,
) -> None:
    try:
        address = normalize_address(value)
    except AddressError:
        return
    local, _, domain = address.rpartition("@")
    assert local and "." in domain and "@" not in local.strip('"')
    assert not any(c in address for c in ' ,;<>\r\n\t"()'), address
    assert address == address.lower() and address.isascii()
    assert normalize_address(address) == address
    assert stored_recipient(address) == address, "the sender takes a normal form as it is"


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=60))
def test_what_the_sender_sends_to_from_any_stored_row_is_one_plain_address(value: str) -> None:
    try:
        address = stored_recipient(value)
    except AddressError:
        return
    assert address.count("@") == 1
    assert not any(c in address for c in ' ,;<>\r\n\t"()\x00'), address
    assert address == address.lower() and address.isascii()
