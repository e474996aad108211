"""What the receiving server answers decides what happens to an email and to the address: a
5xx at RCPT or DATA is a hard bounce that suppresses the address, a 4xx is tried again with
backoff, and the connections are few and reused. A real SMTP server (aiosmtpd) answers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from conftest import START
from delivery.picky import PickyServer
from factories import outbox_item

from pertinent.app import System
from pertinent.clock import SimClock


def _enqueue(system: System, *addresses: str) -> None:
    with system.storage.transaction() as tx:
        tx.outbox.enqueue(
            [
                outbox_item(f"k-{a}", f"m-{a}", START, profile_id=f"p-{a}", to_address=a)
                for a in addresses
            ]
        )


def _rows(system: System) -> dict[str, Any]:
    return {row.item.to_address: row for row in system.storage.reads.emails(1000)}


def _logged(system: System, name: str) -> list[dict[str, Any]]:
    with system.storage.snapshot() as tx:
        return [e.event.properties for e in tx.log.read_after(0, 10_000) if e.event.name == name]


def _sign_up(system: System, user: str) -> None:
    system.ingestor.ingest(
        [
            {"type": "identify", "userId": user, "traits": {"email": f"{user}@example.com"}},
            {"type": "track", "event": "Signed Up", "userId": user},
        ]
    )


def test_a_mailbox_that_does_not_exist_bounces_hard_once_and_is_never_mailed_again(
    picky_sys: System, picky: PickyServer, clock: SimClock
) -> None:
    _sign_up(picky_sys, "gone")
    _sign_up(picky_sys, "ann")
    picky_sys.run_until_idle()

    assert picky.handler.recipients == ["ann@example.com"]
    gone = _rows(picky_sys)["gone@example.com"]
    assert gone.status == "failed"
    assert gone.last_error == "SMTP 550 at RCPT TO: 5.1.1 <gone@example.com>: no such user"
    assert "unreachable" not in gone.last_error, "the server answered; it refused the address"
    [bounce] = _logged(picky_sys, "email_bounced")
    assert (bounce["bounce"], bounce["message_id"]) == ("hard", gone.item.message_id)
    with picky_sys.storage.snapshot() as tx:
        assert tx.suppressions.reasons(["gone@example.com"]) == {"gone@example.com": "bounced"}

    for later in (timedelta(days=2), timedelta(days=1, hours=2)):  # the tips email is due
        clock.advance(later)
        picky_sys.run_until_idle()

    assert picky.handler.recipients == ["ann@example.com", "ann@example.com"]
    assert len(_logged(picky_sys, "email_bounced")) == 1, "no second attempt, no second bounce"


def test_a_message_refused_at_data_is_a_hard_bounce_too(
    picky_sys: System, picky: PickyServer
) -> None:
    _enqueue(picky_sys, "spammy@example.com", "ann@example.com")
    report = asyncio.run(picky_sys.sender.send_due())

    assert (report.sent, report.failed) == (1, 1)
    row = _rows(picky_sys)["spammy@example.com"]
    assert row.last_error == "SMTP 554 at DATA: 5.7.1 message refused as spam"
    [bounce] = _logged(picky_sys, "email_bounced")
    assert bounce["bounce"] == "hard"
    assert picky.handler.recipients == ["ann@example.com"]


def test_a_temporary_refusal_is_tried_again_after_the_backoff_and_then_delivered(
    picky_sys: System, picky: PickyServer, clock: SimClock
) -> None:
    _enqueue(picky_sys, "busy@example.com")
    asyncio.run(picky_sys.sender.send_due())

    row = _rows(picky_sys)["busy@example.com"]
    assert (row.status, row.last_error) == (
        "pending",
        "SMTP 451 at RCPT TO: 4.2.1 mailbox busy, later",
    )
    assert _logged(picky_sys, "email_bounced") == []
    clock.advance(timedelta(seconds=29))
    assert not asyncio.run(picky_sys.sender.send_due()), "not before the backoff"

    picky.handler.relent = True
    clock.advance(timedelta(seconds=1))
    assert asyncio.run(picky_sys.sender.send_due()).sent == 1
    assert picky.handler.recipients == ["busy@example.com"]
    with picky_sys.storage.snapshot() as tx:
        assert tx.suppressions.suppressed(["busy@example.com"]) == set()


def test_a_round_goes_out_over_a_few_reused_connections_at_once(
    picky_sys: System, picky: PickyServer
) -> None:
    addresses = [f"p{i}@example.com" for i in range(40)]
    _enqueue(picky_sys, *addresses[:20], "gone@example.com", *addresses[20:])

    async def two_rounds() -> None:
        await picky_sys.sender.send_due(limit=21)
        await picky_sys.sender.send_due(limit=21)

    asyncio.run(two_rounds())

    assert sorted(picky.handler.recipients) == sorted(addresses)
    connections = picky_sys.workspace.settings.delivery.connections
    assert picky.handler.sessions <= connections, "a refusal does not cost the connection"
    assert 1 < picky.handler.most_in_flight <= connections


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_retry(
    picky_sys: System, picky: PickyServer
) -> None:
    _enqueue(picky_sys, "a@example.com")

    async def around_a_restart() -> None:
        await picky_sys.sender.send_due()
        picky.stop()  # the server goes away and comes back: the pooled connection is dead
        picky.start()
        _enqueue(picky_sys, "b@example.com")
        assert (await picky_sys.sender.send_due()).sent == 1

    asyncio.run(around_a_restart())
    assert picky.handler.recipients == ["a@example.com", "b@example.com"]
