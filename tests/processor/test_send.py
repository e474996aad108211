"""The send phase's decisions on a delivery outcome."""

from __future__ import annotations

from datetime import timedelta

from conftest import START
from factories import outbox_item

from pertinent.delivery.outbox import MAX_ATTEMPTS, PendingEmail
from pertinent.delivery.smtp import DeliveryError
from pertinent.processor.effects import EmitEvents, MarkFailed, MarkRetry, MarkSent, Suppress
from pertinent.processor.send import not_sent, sent

BASE = timedelta(seconds=30)


def _pending(attempts: int = 0) -> PendingEmail:
    return PendingEmail(7, attempts, outbox_item("k:1", "m1", START, journey_key="cart"))


def test_a_temporary_failure_is_retried_with_backoff_until_attempts_run_out() -> None:
    busy = DeliveryError("SMTP 451 at RCPT TO: try later", kind="temporary")
    assert not_sent(_pending(0), busy, START, BASE) == [MarkRetry(7, START + BASE, str(busy))]
    assert not_sent(_pending(2), busy, START, BASE) == [MarkRetry(7, START + 4 * BASE, str(busy))]
    last = not_sent(_pending(MAX_ATTEMPTS - 1), busy, START, BASE)
    assert isinstance(last[0], MarkFailed)
    assert not any(isinstance(e, Suppress) for e in last), "a temporary failure never suppresses"


def test_a_permanent_refusal_of_the_recipient_is_a_hard_bounce_and_suppresses_the_address() -> None:
    refused = DeliveryError("SMTP 550 at RCPT TO: no such user", kind="recipient")
    effects = not_sent(_pending(0), refused, START, BASE)
    assert effects[0] == MarkFailed(7, str(refused))
    [bounce] = effects[1].events  # type: ignore[union-attr]
    assert (bounce.name, bounce.properties["bounce"]) == ("email_bounced", "hard")
    assert bounce.properties["reason"] == "SMTP 550 at RCPT TO: no such user"
    assert effects[2] == Suppress("a@example.com", "u1", "bounced", START)


def test_a_refused_sender_fails_the_email_without_blaming_the_recipient() -> None:
    refused = DeliveryError("SMTP 553 at MAIL FROM: sender not allowed", kind="message")
    effects = not_sent(_pending(0), refused, START, BASE)
    assert effects[0] == MarkFailed(7, str(refused))
    [bounce] = effects[1].events  # type: ignore[union-attr]
    assert bounce.properties["bounce"] == "soft"
    assert not any(isinstance(e, Suppress) for e in effects), "the address is not at fault"


def test_a_delivery_is_marked_sent_with_its_event() -> None:
    effects = sent(_pending(), START)
    assert effects[0] == MarkSent(7, START)
    assert isinstance(effects[1], EmitEvents)
    [event] = effects[1].events
    assert (event.name, event.properties["message_id"], event.properties["journey"]) == (
        "email_sent",
        "m1",
        "cart",
    )
