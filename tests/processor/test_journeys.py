"""The journeys engine, without a database: triggers, waits and sends as decisions."""

from __future__ import annotations

from datetime import timedelta

from conftest import START
from factories import track

from pertinent.events.model import Event
from pertinent.journeys.model import JourneyDefinition
from pertinent.processor.journeys import JourneyState, SendRequest, on_events, on_wake


def _journey(spec: dict[str, object]) -> JourneyDefinition:
    return JourneyDefinition.model_validate(spec)


VIP = _journey(
    {
        "key": "vip",
        "trigger": {
            "type": "event",
            "event": "Order Completed",
            "where": [{"property": "revenue", "op": "gt", "value": 1000}],
        },
        "steps": [{"type": "send", "template": "vip"}],
    }
)
CART = _journey(
    {
        "key": "cart",
        "trigger": {"type": "event", "event": "Product Added"},
        "exit_on": ["Order Completed"],
        "steps": [
            {"type": "wait_for_event", "event": "Order Completed", "timeout": "1h"},
            {"type": "send", "template": "cart"},
        ],
    }
)
WELCOME = _journey(
    {
        "key": "welcome",
        "trigger": {"type": "event", "event": "Signed Up"},
        "reentry": "never",
        "steps": [{"type": "send", "template": "welcome"}],
    }
)
JOURNEYS = {j.key: j for j in (VIP, CART, WELCOME)}


def _steps(timeline: list[Event | SendRequest]) -> list[str]:
    return [
        f"send {e.template}" if isinstance(e, SendRequest) else e.properties["transition"]
        for e in timeline
    ]


def test_a_trigger_filter_compares_like_a_segment_does() -> None:
    small = track("Order Completed", START, user="u1", revenue=20)
    big = track("Order Completed", START, user="u2", revenue=1500)
    text = track("Order Completed", START, user="u3", revenue="1500")
    advanced = on_events(
        JOURNEYS, JourneyState({}), [("u1", small), ("u2", big), ("u3", text)], START
    )
    assert [(i.journey_key, i.profile_id, i.status) for i in advanced.instances] == [
        ("vip", "u2", "completed")
    ]
    assert _steps(advanced.timeline) == ["entered", "send vip", "completed"]


def test_a_cart_waits_for_the_order_and_sends_when_the_hour_passes() -> None:
    added = track("Product Added", START, user="u1", product_id="k1")
    started = on_events(JOURNEYS, JourneyState({}), [("u1", added)], START)
    [waiting] = started.instances
    assert (waiting.status, waiting.wake_at, waiting.wait_event) == (
        "waiting",
        START + timedelta(hours=1),
        "Order Completed",
    )
    assert waiting.trigger["properties"] == {"product_id": "k1"}

    woke = on_wake(JOURNEYS, [waiting], START + timedelta(hours=1))
    assert _steps(woke.timeline) == ["send cart", "completed"]
    [request] = [e for e in woke.timeline if isinstance(e, SendRequest)]
    assert request.idempotency_key == f"{waiting.key}:1"

    ordered = on_events(
        JOURNEYS,
        JourneyState({"u1": [waiting]}),
        [("u1", track("Order Completed", START, user="u1", revenue=5))],
        START + timedelta(minutes=30),
    )
    assert [(i.journey_key, i.status) for i in ordered.instances] == [("cart", "exited")]
    assert not [e for e in ordered.timeline if isinstance(e, SendRequest)]


def test_the_same_trigger_makes_the_same_instance_and_never_means_never() -> None:
    signed = track("Signed Up", START, user="u1", message_id="m-signup")
    first = on_events(JOURNEYS, JourneyState({}), [("u1", signed)], START)
    again = on_events(JOURNEYS, JourneyState({}), [("u1", signed)], START)
    assert first.instances == again.instances, "a replay derives the same key"
    later = track("Signed Up", START, user="u1")
    entered = {("welcome", "u1")}
    assert not on_events(JOURNEYS, JourneyState({}, entered), [("u1", later)], START).instances
