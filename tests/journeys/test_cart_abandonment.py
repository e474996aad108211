"""Cart abandonment on the simulated clock, delivered to a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from conftest import START

from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.sink import SmtpSink


def _system(root: Path, clock: SimClock) -> System:
    return build_system(load_workspace(root), clock=clock)


def _run(system: System) -> None:
    system.run_until_idle()


def _add_to_cart(system: System, at_minutes: int = 0) -> None:
    result = system.ingestor.ingest(
        [
            {
                "type": "identify",
                "userId": "u1",
                "traits": {"email": "ann@example.com", "first_name": "Ann"},
            },
            {
                "type": "track",
                "event": "Product Added",
                "userId": "u1",
                "properties": {
                    "product_id": "k1",
                    "name": "Blue Kettle",
                    "price": 39,
                    "url": "https://shop.example/p/k1",
                },
            },
        ]
    )
    assert result.rejections == []


def test_an_abandoned_cart_gets_exactly_one_email_naming_the_product(
    workspace: Path, sink: SmtpSink
) -> None:
    clock = SimClock(START)
    system = _system(workspace, clock)
    _add_to_cart(system)
    _run(system)
    clock.advance(timedelta(minutes=59))
    _run(system)
    assert sink.messages == [], "the hour is not over yet"
    clock.advance(timedelta(minutes=2))
    _run(system)
    clock.advance(timedelta(hours=5))
    _run(system)
    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message.rcpt_tos == ["ann@example.com"]
    assert "Blue Kettle" in message.message["Subject"]
    assert "Blue Kettle" in message.message.get_body(("html",)).get_content()
    assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    system.close()


def test_an_order_within_the_hour_sends_no_cart_email(workspace: Path, sink: SmtpSink) -> None:
    clock = SimClock(START)
    system = _system(workspace, clock)
    _add_to_cart(system)
    _run(system)
    clock.advance(timedelta(minutes=30))
    system.ingestor.ingest(
        [
            {
                "type": "track",
                "event": "Order Completed",
                "userId": "u1",
                "properties": {"order_id": "o1", "revenue": 39},
            }
        ]
    )
    _run(system)
    clock.advance(timedelta(hours=2))
    _run(system)
    subjects = [str(m.message["Subject"]) for m in sink.messages]
    assert not any("in your cart" in s for s in subjects)
    assert subjects == ["Thank you for your order, Ann"], "only the post-purchase email"
    system.close()


def test_an_order_received_in_time_cancels_the_reminder_even_if_processing_lags(
    workspace: Path, sink: SmtpSink
) -> None:
    clock = SimClock(START)
    system = _system(workspace, clock)
    _add_to_cart(system)
    _run(system)
    clock.advance(timedelta(minutes=30))
    system.ingestor.ingest(
        [{"type": "track", "event": "Order Completed", "userId": "u1", "properties": {}}]
    )
    clock.advance(timedelta(minutes=31))  # the worker was busy: the order is still unprocessed
    assert system.processor.run_timers() == 0, "the hour's end waits for the order before it"
    _run(system)
    clock.advance(timedelta(hours=2))
    _run(system)
    assert not any("in your cart" in str(m.message["Subject"]) for m in sink.messages)
    system.close()


def test_a_crash_between_render_and_send_still_sends_exactly_one(
    workspace: Path, sink: SmtpSink
) -> None:
    clock = SimClock(START)
    system = _system(workspace, clock)
    _add_to_cart(system)
    system.processor.run_until_idle()
    clock.advance(timedelta(minutes=61))
    system.processor.run_until_idle()  # renders and enqueues; the process dies before sending
    assert system.storage.reads.status().outbox == {"pending": 1}
    system.close()
    assert sink.messages == []

    restarted = _system(workspace, clock)
    _run(restarted)
    _run(restarted)
    clock.advance(timedelta(hours=3))
    _run(restarted)
    assert len(sink.messages) == 1
    assert restarted.storage.reads.status().outbox == {"sent": 1}
    restarted.close()
