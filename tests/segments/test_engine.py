"""Segments: incremental evaluation, window edges on the clock, and agreement with batch."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

import pytest
from conftest import POSTGRES_URL, START, fresh_pg_schema
from factories import identify, processor, track
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pertinent.clock import SimClock
from pertinent.events.model import Event
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.language import SegmentDefinition
from pertinent.storage.ports import Storage
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage

ELECTRONICS = SegmentDefinition.model_validate(
    {
        "key": "electronics_fans",
        "condition": {
            "type": "performed",
            "event": "Product Viewed",
            "at_least": 3,
            "within": "7d",
            "where": [{"property": "category", "value": "Electronics"}],
        },
    }
)
DORMANT = SegmentDefinition.model_validate(
    {
        "key": "dormant",
        "condition": {
            "type": "all",
            "conditions": [
                {"type": "trait", "trait": "email", "op": "exists"},
                {"type": "not_performed", "event": "Logged In", "within": "30d"},
            ],
        },
    }
)
NYC_25_35 = SegmentDefinition.model_validate(
    {
        "key": "nyc",
        "condition": {
            "type": "all",
            "conditions": [
                {"type": "trait", "trait": "city", "value": "NYC"},
                {"type": "trait", "trait": "age", "op": "between", "value": [25, 35]},
                {"type": "in_segment", "segment": "electronics_fans"},
            ],
        },
    }
)


class Shop:
    """A processor over real storage, driven by a simulated clock."""

    def __init__(self, storage: Storage, segments: list[SegmentDefinition]):
        self.storage = storage
        self.clock = SimClock(START)
        self.segments = SegmentSet(segments)
        self.processor = processor(storage, self.clock, segments)

    def send(self, *events: Event) -> None:
        with self.storage.transaction() as tx:
            tx.log.append(list(events))
        self.processor.run_until_idle()

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        self.processor.run_until_idle()

    def members(self, key: str) -> set[str]:
        with self.storage.snapshot() as tx:
            return tx.segments.current(None).get(key, set())

    def logged(self, name: str) -> list[dict[str, Any]]:
        with self.storage.snapshot() as tx:
            return [
                e.event.properties for e in tx.log.read_after(0, 10_000) if e.event.name == name
            ]


def _view(at: Any, user: str, category: str = "Electronics") -> Event:
    return track("Product Viewed", at, user=user, category=category)


def test_three_views_in_a_week_enter_and_the_window_edge_exits(storage: Storage) -> None:
    shop = Shop(storage, [ELECTRONICS])
    shop.send(_view(START, "u1"), _view(START, "u1", "Books"), _view(START, "u1"))
    assert shop.members("electronics_fans") == set()
    shop.advance(timedelta(days=1))
    shop.send(_view(shop.clock.now(), "u1"))
    assert shop.members("electronics_fans") == {"u1"}
    assert shop.logged("segment_entered") == [{"segment": "electronics_fans"}]
    shop.advance(timedelta(days=5, hours=23))
    assert shop.members("electronics_fans") == {"u1"}, "the first views are still in the window"
    shop.advance(timedelta(hours=2))
    assert shop.members("electronics_fans") == set(), "the first view left the 7-day window"
    assert shop.logged("segment_exited") == [{"segment": "electronics_fans"}]


def test_thirty_days_of_silence_fire_at_the_mark_without_new_events(storage: Storage) -> None:
    shop = Shop(storage, [DORMANT])
    shop.send(
        identify(START, user="u1", email="u1@example.com"), track("Logged In", START, user="u1")
    )
    shop.advance(timedelta(days=29, hours=23))
    assert shop.members("dormant") == set()
    shop.advance(timedelta(hours=2))
    assert shop.members("dormant") == {"u1"}
    shop.send(track("Logged In", shop.clock.now(), user="u1"))
    assert shop.members("dormant") == set()


def test_traits_and_segment_references(storage: Storage) -> None:
    shop = Shop(storage, [NYC_25_35, ELECTRONICS])
    shop.send(
        identify(START, user="a", city="NYC", age=30),
        identify(START, user="b", city="NYC", age=40),
        *[_view(START, u) for u in ("a", "b") for _ in range(3)],
    )
    assert shop.members("electronics_fans") == {"a", "b"}
    assert shop.members("nyc") == {"a"}


# --- incremental == batch ----------------------------------------------------------------

COUNTED = SegmentDefinition.model_validate(
    {
        "key": "counted",
        "condition": {"type": "performed", "event": "V", "at_least": 2, "within": "3h"},
    }
)
SILENT = SegmentDefinition.model_validate(
    {
        "key": "silent",
        "condition": {
            "type": "all",
            "conditions": [
                {"type": "performed", "event": "V"},
                {"type": "not_performed", "event": "O", "within": "2h"},
            ],
        },
    }
)
EITHER = SegmentDefinition.model_validate(
    {
        "key": "either",
        "condition": {
            "type": "any",
            "conditions": [
                {"type": "in_segment", "segment": "counted"},
                {"type": "not", "condition": {"type": "in_segment", "segment": "silent"}},
            ],
        },
    }
)


SEQUENCES = [
    SegmentDefinition.model_validate(
        {
            "key": "v_without_o",
            "condition": {
                "type": "sequence",
                "first": {"event": "V"},
                "then_not": {"event": "O"},
                "within": "1h",
            },
        }
    ),
    SegmentDefinition.model_validate(
        {
            "key": "v_then_o_lately",
            "condition": {
                "type": "sequence",
                "first": {"event": "V", "within": "2h"},
                "then": {"event": "O", "where": [{"property": "amount", "op": "gt", "value": 1}]},
                "within": "30m",
            },
        }
    ),
]
AMOUNTS_AND_DATES = [
    SegmentDefinition.model_validate(
        {
            "key": "spent",
            "condition": {
                "type": "aggregate",
                "event": "O",
                "function": "sum",
                "property": "amount",
                "within": "3h",
                "op": "gte",
                "value": 4,
            },
        }
    ),
    SegmentDefinition.model_validate(
        {
            "key": "away_a_day",
            "condition": {
                "type": "trait",
                "trait": "computed.days_since_last_visit",
                "op": "gte",
                "value": 1,
            },
        }
    ),
    SegmentDefinition.model_validate(
        {
            "key": "birthday_soon",
            "condition": {"type": "anniversary", "date": "birthday", "in_next_days": 1},
        }
    ),
    SegmentDefinition.model_validate(
        {
            "key": "new_member",
            "condition": {"type": "days_since", "date": "joined", "op": "lt", "value": 1},
        }
    ),
]


def _step(at: Any, person: str, name: str) -> Event:
    """V and O are events (an O with an amount of 1, 2 or 3); I sets the person's birthday
    to tomorrow and their join date to now."""
    if name == "I":
        tomorrow = (at + timedelta(days=1)).date().replace(year=1990)
        return identify(at, user=person, birthday=tomorrow.isoformat(), joined=at.isoformat())
    if name == "O":
        return track("O", at, user=person, amount=1 + len(person) % 3 + at.minute % 2)
    return track(name, at, user=person)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(
        st.tuples(
            st.integers(0, 400),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["V", "O", "I"]),
        ),
        min_size=1,
        max_size=15,
    ),
    tail=st.integers(0, 2000),
)
def test_incremental_and_timed_evaluation_always_agree_with_batch(
    tmp_path_factory: Any, backend: str, steps: list[tuple[int, str, str]], tail: int
) -> None:
    """Every timed node (windows, sequences, aggregates, days since, anniversaries) and the
    combinators, on random event streams over a few days: what the processor holds after
    each event and timer is what a batch evaluation finds at the same instant."""
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            db = Database(f"sqlite:///{tmp_path_factory.mktemp('seg') / 'p.db'}")
        else:
            db = Database(POSTGRES_URL, schema=stack.enter_context(fresh_pg_schema()))
        storage = SqlStorage(db)
        stack.callback(storage.close)
        shop = Shop(storage, [COUNTED, SILENT, EITHER, *SEQUENCES, *AMOUNTS_AND_DATES])
        for minutes, person, name in steps:
            shop.advance(timedelta(minutes=minutes))
            shop.send(_step(shop.clock.now(), person, name))
        shop.advance(timedelta(minutes=tail))
        now = shop.clock.now()
        keys = [seg.key for seg in shop.segments]
        with storage.snapshot() as tx:
            batch = tx.segments.matching(shop.segments.conditions, dict.fromkeys(keys), now)
        for key in keys:
            assert shop.members(key) == batch[key], key
