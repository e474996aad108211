"""Every node of the language on a known answer, on every adapter (the reference in memory,
SQLite, PostgreSQL): a guard against the agreement property passing because nothing matches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import START
from factories import track

from pertinent.events.model import Event
from pertinent.profiles.state import ProfileState
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.language import SegmentDefinition
from pertinent.storage.ports import Storage

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def _people(storage: Storage, traits: dict[str, dict[str, Any]], events: list[Event]) -> None:
    """Profiles with these traits (through the fold's own date handling) and these events
    attributed to their users."""
    states = []
    for pid, bag in traits.items():
        state = ProfileState(pid)
        for key, value in bag.items():
            state.set_trait(key, value, START - 400 * DAY)
        states.append(state)
    with storage.transaction() as tx:
        tx.profiles.save(states)
        tx.log.append(events)
        logged = tx.log.read_after(0, 1000)
        tx.profiles.record(
            [
                (
                    e.seq,
                    e.event.user_id or "",
                    e.event.action,
                    e.event.timestamp,
                    e.event.properties,
                )
                for e in logged
            ]
        )


def _members(storage: Storage, condition: dict[str, Any], now: Any = START) -> set[str]:
    segments = SegmentSet([SegmentDefinition.model_validate({"key": "s", "condition": condition})])
    with storage.snapshot() as tx:
        return tx.segments.matching(segments.conditions, {"s": None}, now)["s"]


def test_a_sequence_with_a_step_that_must_not_follow(storage: Storage) -> None:
    _people(
        storage,
        {"ordered": {}, "abandoned": {}, "ordered_before": {}, "too_soon": {}, "late": {}},
        [
            track("Product Added", START - 30 * HOUR, user="ordered"),
            track("Order Completed", START - 29 * HOUR, user="ordered"),
            track("Product Added", START - 30 * HOUR, user="abandoned"),
            track("Order Completed", START - 40 * HOUR, user="ordered_before"),
            track("Product Added", START - 30 * HOUR, user="ordered_before"),
            track("Product Added", START - 2 * HOUR, user="too_soon"),
            track("Product Added", START - 30 * HOUR, user="late"),
            track("Order Completed", START - 5 * HOUR, user="late"),
        ],
    )
    abandoned = {
        "type": "sequence",
        "first": {"event": "Product Added"},
        "then_not": {"event": "Order Completed"},
        "within": "24h",
    }
    assert _members(storage, abandoned) == {"abandoned", "ordered_before", "late"}
    followed = {**abandoned, "then": abandoned["then_not"]}
    del followed["then_not"]
    assert _members(storage, followed) == {"ordered"}
    recent = {**abandoned, "first": {"event": "Product Added", "within": "1d"}}
    assert _members(storage, recent) == set(), "every cart older than a day, or not yet due"


def test_a_sequence_step_filters_its_own_properties(storage: Storage) -> None:
    _people(
        storage,
        {"a": {}, "b": {}},
        [
            track("Viewed", START - 3 * HOUR, user="a", sku="X"),
            track("Viewed", START - 2 * HOUR, user="a", sku="Y"),
            track("Viewed", START - 3 * HOUR, user="b", sku="Y"),
        ],
    )
    x_then_y = {
        "type": "sequence",
        "first": {"event": "Viewed", "where": [{"property": "sku", "value": "X"}]},
        "then": {"event": "Viewed", "where": [{"property": "sku", "value": "Y"}]},
        "within": "2h",
    }
    assert _members(storage, x_then_y) == {"a"}
    twice = {"type": "sequence", "first": {"event": "Viewed"}, "then": {"event": "Viewed"}}
    assert _members(storage, {**twice, "within": "2h"}) == {"a"}, "one view is not two"


@pytest.mark.parametrize(
    ("function", "op", "value", "expected"),
    [
        ("count", "gte", 3, {"big", "cents"}),
        ("count", "lt", 2, {"none"}),
        ("sum", "gt", 400, {"big"}),
        ("sum", "eq", 0.3, {"cents"}),
        ("avg", "between", [100, 200], {"big"}),
        ("min", "lt", 1, {"cents"}),
        ("max", "gte", 300, {"big"}),
        ("avg", "ne", 150, {"cents", "none"}),
    ],
)
def test_aggregates_over_a_window(
    storage: Storage, function: str, op: str, value: Any, expected: set[str]
) -> None:
    _people(
        storage,
        {"big": {}, "cents": {}, "none": {}},
        [
            *[
                track("Order Completed", START - d * DAY, user="big", revenue=r)
                for d, r in ((1, 100), (2, 300), (3, 50), (100, 1000))
            ],
            track("Order Completed", START - DAY, user="cents", revenue=0.1),
            track("Order Completed", START - DAY, user="cents", revenue=0.2),
            track("Order Completed", START - DAY, user="cents", revenue="lots"),
            track("Order Completed", START - DAY, user="none"),
        ],
    )
    condition = {
        "type": "aggregate",
        "event": "Order Completed",
        "function": function,
        "within": "90d",
        "op": op,
        "value": value,
    }
    if function != "count":
        condition["property"] = "revenue"
    assert _members(storage, condition) == expected


def test_the_last_value_of_a_property(storage: Storage) -> None:
    _people(
        storage,
        {"a": {}, "b": {}},
        [
            track("Plan Changed", START - 2 * DAY, user="a", plan="pro"),
            track("Plan Changed", START - DAY, user="a", plan="free"),
            track("Plan Changed", START - DAY, user="b", plan="pro"),
            track("Plan Changed", START - HOUR, user="b"),
        ],
    )
    last_pro = {
        "type": "aggregate",
        "event": "Plan Changed",
        "function": "last",
        "property": "plan",
        "value": "pro",
    }
    assert _members(storage, last_pro) == {"b"}, "an event without the property is skipped"


def test_days_since_a_computed_time_and_a_date_trait(storage: Storage) -> None:
    _people(
        storage,
        {
            "old": {"signed_up_at": "2025-12-01"},
            "new": {"signed_up_at": (START - 3 * DAY).isoformat()},
            "zone": {"signed_up_at": "2026-01-31T23:30:00-02:00"},  # 1 Feb in UTC
            "text": {"signed_up_at": "last year"},
        },
        [],
    )
    more_than_30 = {"type": "days_since", "date": "signed_up_at", "op": "gt", "value": 30}
    assert _members(storage, more_than_30) == {"old"}
    assert _members(storage, {**more_than_30, "op": "eq", "value": 29}) == {"zone"}
    assert _members(storage, {**more_than_30, "op": "ne", "value": 3}) == {"old", "zone", "text"}
    assert _members(storage, {**more_than_30, "op": "not_exists"}) == {"text"}
    with storage.transaction() as tx:
        tx.profiles.save(
            [ProfileState("buyer", computed={"last_order_at": (START - 31 * DAY).isoformat()})]
        )
    lapsed = {
        "type": "trait",
        "trait": "computed.days_since_last_purchase",
        "op": "gt",
        "value": 30,
    }
    assert _members(storage, lapsed) == {"buyer"}
    assert _members(storage, lapsed, START - DAY) == set(), "30 days ago it was 30 days"


def test_birthdays_in_the_next_days_across_the_new_year_and_29_february(storage: Storage) -> None:
    _people(
        storage,
        {
            "jan2": {"birthday": "1990-01-02"},
            "dec31": {"birthday": "1985-12-31"},
            "leap": {"birthday": "1992-02-29"},
            "later": {"birthday": "1990-01-20"},
        },
        [],
    )
    week = {"type": "anniversary", "date": "birthday", "in_next_days": 7}
    new_year_eve = START.replace(month=12, day=30)
    assert _members(storage, week, new_year_eve) == {"jan2", "dec31"}
    feb_22 = START.replace(month=2, day=22)  # 2026 has no 29 February: the 28th it is
    assert _members(storage, week, feb_22) == {"leap"}
    assert _members(storage, week, START.replace(month=3, day=1)) == set()


def test_page_calls_are_filtered_by_name_and_url(storage: Storage) -> None:
    page = Event(
        "p1",
        "page",
        START,
        START,
        user_id="a",
        name="Pricing",
        context={"page": {"url": "https://shop.example/pricing?x=1"}},
    )
    # As `events.normalize` stores a server-side page call: name and url in the properties.
    page.properties = {"name": "Pricing", "url": page.context["page"]["url"]}
    _people(storage, {"a": {}}, [page])
    pricing = {
        "type": "performed",
        "event": "Page Viewed",
        "where": [
            {"property": "name", "value": "Pricing"},
            {"property": "url", "op": "contains", "value": "/pricing"},
        ],
    }
    assert _members(storage, pricing) == {"a"}
