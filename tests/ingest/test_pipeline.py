"""Validation and normalization of incoming Segment calls."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import START

from pertinent.ingest.pipeline import prepare


def test_clock_skew_is_corrected_from_sent_at() -> None:
    # The phone's clock is 1 hour fast: it says it sent at 10:05 and the event was at 10:00.
    raw = {
        "type": "track",
        "event": "Product Viewed",
        "userId": "u1",
        "timestamp": "2026-03-02T10:00:00Z",
        "sentAt": "2026-03-02T10:05:00Z",
    }
    prepared = prepare([raw], received_at=START)
    events, rejections = prepared.events, prepared.rejections
    assert rejections == []
    assert events[0].timestamp == START - timedelta(minutes=5)
    assert events[0].received_at == START


def test_batch_level_sent_at_applies_to_every_event() -> None:
    raw = {"type": "track", "event": "E", "userId": "u1", "timestamp": "2026-03-02T08:00:00"}
    prepared = prepare(
        [raw], received_at=START, batch_sent_at=datetime(2026, 3, 2, 8, 1, tzinfo=UTC)
    )
    events = prepared.events
    assert events[0].timestamp == START - timedelta(minutes=1)


def test_without_a_timestamp_the_event_happened_on_arrival() -> None:
    prepared = prepare([{"type": "page", "anonymousId": "a"}], received_at=START)
    events = prepared.events
    assert events[0].timestamp == START
    assert events[0].action == "Page Viewed"


def test_ecommerce_numbers_and_emails_are_normalized() -> None:
    raw = {
        "type": "track",
        "event": "Order Completed",
        "userId": 42,
        "properties": {
            "revenue": "1299.50",
            "email": " Ann@Example.COM ",
            "products": [{"product_id": "p1", "price": "12", "quantity": "2"}],
        },
    }
    ident = {"type": "identify", "userId": "u1", "traits": {"email": "  BOB@example.com"}}
    prepared = prepare([raw, ident], received_at=START)
    events, rejections = prepared.events, prepared.rejections
    assert rejections == []
    order, who = events
    assert order.user_id == "42"
    assert order.properties["revenue"] == 1299.5
    assert order.properties["email"] == "ann@example.com"
    assert order.properties["products"] == [{"product_id": "p1", "price": 12, "quantity": 2}]
    assert who.traits["email"] == "bob@example.com"


def test_each_rejection_names_index_field_and_reason_and_good_events_are_kept() -> None:
    batch = [
        {"type": "track", "event": "Good", "userId": "u1"},
        {"type": "track", "userId": "u1"},
        {"type": "track", "event": "No id"},
        {"type": "launch", "userId": "u1"},
        "not an object",
        {"type": "identify", "userId": "u2", "timestamp": "yesterday"},
        {"type": "track", "event": "Huge", "userId": "u1", "properties": {"x": "y" * 40_000}},
        {"type": "alias", "userId": "u3"},
        {"type": "identify", "userId": "u4", "traits": {"plan": "pro"}},
    ]
    prepared = prepare(batch, received_at=START)
    events, rejections = prepared.events, prepared.rejections
    assert [e.name or e.type for e in events] == ["Good", "identify"]
    assert [(r.index, r.field) for r in rejections] == [
        (1, "event"),
        (2, "(event)"),
        (3, "type"),
        (4, "(event)"),
        (5, "timestamp"),
        (6, "(event)"),
        (7, "previousId"),
    ]
    assert "userId or anonymousId" in rejections[1].reason
    assert "32 KB" in rejections[5].reason


def test_known_bots_are_flagged_not_dropped() -> None:
    bot = {
        "type": "page",
        "anonymousId": "x",
        "context": {
            "userAgent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        },
    }
    person = {
        "type": "page",
        "anonymousId": "y",
        "context": {
            "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Safari/605.1.15"
        },
    }
    prepared = prepare([bot, person], received_at=START)
    events = prepared.events
    assert [e.is_bot for e in events] == [True, False]


def _nested(levels: int) -> object:
    """A value whose deepest object is at level `levels` of its event (the event is level 1,
    its properties level 2)."""
    value: object = "leaf"
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_nesting_deeper_than_32_levels_rejects_the_event_alone() -> None:
    batch = [
        {"type": "track", "event": "Deep", "userId": "u1", "properties": _nested(32)},
        {"type": "track", "event": "Deeper", "userId": "u1", "properties": _nested(33)},
        {"type": "identify", "userId": "u1", "traits": {"list": [[[[1]]]], "x": _nested(600)}},
        {"type": "track", "event": "Deepest", "userId": "u1", "context": _nested(1000)},
        {"type": "track", "event": "Fine", "userId": "u1"},
    ]
    prepared = prepare(batch, received_at=START)
    assert [e.name or e.type for e in prepared.events] == ["Deep", "Fine"]
    assert [(r.index, r.field) for r in prepared.rejections] == [
        (1, "properties"),
        (2, "traits"),
        (3, "context"),
    ]
    assert prepared.rejections[0].reason == "objects and arrays nest deeper than 32 levels"


def test_text_with_a_nul_character_rejects_its_event_naming_the_field() -> None:
    batch = [
        {"type": "track", "event": "E", "userId": "u1", "properties": {"note": "a\x00b"}},
        {"type": "track", "event": "E\x00", "userId": "u1"},
        {"type": "identify", "userId": "u1", "traits": {"tags": ["ok", {"k\x00": 1}]}},
        {"type": "track", "event": "E", "userId": "u1", "properties": {"note": "fine"}},
    ]
    prepared = prepare(batch, received_at=START)
    assert len(prepared.events) == 1
    assert [(r.index, r.field) for r in prepared.rejections] == [
        (0, "properties.note"),
        (1, "event"),
        (2, "traits.tags.1.k\x00"),
    ]


def test_names_are_limited_like_ids_so_every_store_can_keep_them() -> None:
    long = "n" * 513
    batch = [
        {"type": "page", "anonymousId": "a", "name": long},
        {"type": "screen", "anonymousId": "a", "name": long},
        {"type": "page", "anonymousId": "a", "name": "n" * 512},
    ]
    prepared = prepare(batch, received_at=START)
    assert [(r.index, r.field) for r in prepared.rejections] == [(0, "name"), (1, "name")]
    assert len(prepared.events) == 1


def test_page_and_screen_names_and_urls_become_properties_segments_can_filter() -> None:
    server_side = {
        "type": "page",
        "userId": "u1",
        "name": "Checkout",
        "category": "Shop",
        "properties": {"path": "/checkout"},
        "context": {"page": {"url": "https://shop.example/checkout", "title": "Pay", "x": 1}},
    }
    browser = {
        "type": "page",
        "anonymousId": "a1",
        "name": "Home",
        "properties": {"name": "Home page", "url": "https://shop.example/"},
        "context": {"page": {"url": "https://shop.example/?utm=x", "referrer": "https://t.co/"}},
    }
    screen = {"type": "screen", "userId": "u1", "name": "Cart", "properties": {"items": 2}}
    page, sent, app_screen = prepare([server_side, browser, screen], received_at=START).events

    assert page.properties == {
        "name": "Checkout",
        "category": "Shop",
        "path": "/checkout",
        "url": "https://shop.example/checkout",
        "title": "Pay",
    }
    # What the call's properties say wins over the name and the context.
    assert sent.properties == {
        "name": "Home page",
        "url": "https://shop.example/",
        "referrer": "https://t.co/",
    }
    assert app_screen.properties == {"name": "Cart", "items": 2}
    assert (page.name, page.action, app_screen.action) == (
        "Checkout",
        "Page Viewed",
        "Screen Viewed",
    )


def test_a_client_cannot_write_pertinents_own_events_and_the_rest_of_the_batch_goes_in() -> None:
    # The write key is public: a forged open or send would count in experiments and engagement.
    forged = [
        {"type": "track", "event": name, "userId": "u1", "properties": {"message_id": "m"}}
        for name in ("email_opened", "email_clicked", "email_sent", "segment_entered")
    ]
    good = {"type": "track", "event": "Product Viewed", "userId": "u1"}
    prepared = prepare([*forged, good], received_at=START)
    assert [e.name for e in prepared.events] == ["Product Viewed"]
    assert [(r.index, r.field) for r in prepared.rejections] == [(i, "event") for i in range(4)]
    assert "only Pertinent writes" in prepared.rejections[0].reason
