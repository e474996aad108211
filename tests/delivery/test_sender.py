"""One email that cannot go out holds nobody up: it is marked failed with its reason, and
every other email of the round reaches a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from conftest import START
from factories import outbox_item

from pertinent.app import System
from pertinent.delivery.sink import SmtpSink
from pertinent.storage.ports import SentEmail

GOOD = [f"good{i:02d}" for i in range(20)]
CRLF = "crlf@example.com\r\nBcc: evil@example.net"
LIST = "a@b.c, evil@x.y"


def _sign_up(system: System, user_id: str, email: str, first_name: str) -> None:
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


def _outbox(system: System) -> dict[str, SentEmail]:
    return {row.item.profile_id: row for row in system.storage.reads.emails(1000)}


def _recipients(sink: SmtpSink) -> Counter[str]:
    return Counter(address for m in sink.messages for address in m.rcpt_tos)


def _break_welcome_for_vip(workspace: Path) -> None:
    """The welcome template renders invalid MJML for the person named Vip, and only them."""
    body = workspace / "templates" / "welcome" / "body.mjml"
    body.write_text(
        body.read_text().replace(
            "<mj-column>", "<mj-column>{% if profile.first_name == 'Vip' %}</mj-column>{% endif %}"
        )
    )


def test_bad_addresses_and_a_broken_template_fail_alone_and_the_rest_is_delivered(
    workspace: Path, system: System, sink: SmtpSink
) -> None:
    _break_welcome_for_vip(workspace)
    for user in GOOD[:10]:
        _sign_up(system, user, f"{user}@example.com", user)
    _sign_up(system, "crlf", CRLF, "Carl")
    _sign_up(system, "list", LIST, "Lisa")
    _sign_up(system, "vip", "vip@example.com", "Vip")
    for user in GOOD[10:]:
        _sign_up(system, user, f"{user}@example.com", user)

    system.run_until_idle()

    assert system.storage.reads.status().lag == 0, "the processor reached the end of the log"
    assert _recipients(sink) == Counter(f"{user}@example.com" for user in GOOD), (
        "each good person got exactly one email; nothing went to a bad or injected address"
    )
    rows = _outbox(system)
    assert {rows[user].status for user in GOOD} == {"sent"}
    reasons = {user: (rows[user].status, rows[user].last_error or "") for user in rows}
    assert reasons["crlf"][0] == "failed"
    assert "control character" in reasons["crlf"][1]
    assert reasons["list"][0] == "failed"
    assert "not a single plain address" in reasons["list"][1]
    assert reasons["vip"][0] == "failed"
    assert "template error" in reasons["vip"][1]
    assert "welcome/body.mjml" in reasons["vip"][1], "the reason names the file to fix"
    assert not [user for user, row in rows.items() if row.status in ("sending", "pending")]


def test_the_sender_fails_rows_whose_address_is_not_one_plain_recipient_and_sends_the_rest(
    system: System, sink: SmtpSink
) -> None:
    good = [f"g{i}@example.com" for i in range(4)]
    items = [
        outbox_item(f"k{i}", f"m{i}", START, profile_id=f"u{i}", to_address=address)
        for i, address in enumerate(good[:2])
    ]
    items.append(outbox_item("kbad", "mbad", START, profile_id="bad", to_address=CRLF))
    # A row written some other way than by compose (old data): a list is not one recipient.
    items.append(
        outbox_item(
            "klist", "mlist", START, profile_id="list", to_address="a@example.com, evil@example.net"
        )
    )
    items += [
        outbox_item(f"k{i}", f"m{i}", START, profile_id=f"u{i}", to_address=address)
        for i, address in enumerate(good[2:], start=2)
    ]
    with system.storage.transaction() as tx:
        assert tx.outbox.enqueue(items) == len(items)

    report = asyncio.run(system.sender.send_due())

    assert (report.sent, report.retried, report.failed) == (4, 0, 2)
    assert _recipients(sink) == Counter(good), "nothing reached evil@example.net"
    ids = sorted(str(m.message["Message-ID"]) for m in sink.messages)
    assert ids == [f"<m{i}@example.com>" for i in range(4)]
    rows = _outbox(system)
    assert {rows[f"u{i}"].status for i in range(4)} == {"sent"}
    bad = rows["bad"]
    assert bad.status == "failed"
    assert (bad.last_error or "").startswith("bad address:")
    assert "CR/LF" in (bad.last_error or "")
    listed = rows["list"]
    assert listed.status == "failed"
    assert "not a single plain address" in (listed.last_error or "")
    assert not [p for p, row in rows.items() if row.status in ("sending", "pending")]
