"""Folding the log into profiles: identity, merges, computed properties, bots, idempotency."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conftest import START
from factories import alias, identify, processor, track
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pertinent.clock import SimClock
from pertinent.events.model import Event
from pertinent.storage.ports import Storage
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage


def _run(storage: Storage, clock: SimClock, *batches: list[Event]) -> None:
    folding = processor(storage, clock, batch_size=7)
    for batch in batches:
        with storage.transaction() as tx:
            tx.log.append(batch)
        folding.run_until_idle()


def _profiles(storage: Storage) -> dict[str, Any]:
    ids = storage.reads.profile_ids(10_000, 0)
    with storage.snapshot() as tx:
        states = tx.profiles.load(ids)
        return {pid: (s.traits, s.computed, s.first_seen, s.last_seen) for pid, s in states.items()}


def test_anonymous_history_joins_the_person_on_identify(storage: Storage) -> None:
    clock = SimClock(START)
    _run(
        storage,
        clock,
        [
            track("Product Viewed", START, anon="a1", category="Books"),
            track("Product Viewed", START + timedelta(minutes=1), anon="a1", category="Books"),
            identify(START + timedelta(minutes=2), user="u1", anon="a1", email="u1@example.com"),
            track(
                "Order Completed",
                START + timedelta(minutes=3),
                user="u1",
                revenue="12.50",
                products=[{"product_id": "b1", "category": "Books", "price": 12.5}],
            ),
        ],
    )
    profiles = _profiles(storage)
    assert list(profiles) == ["u1"]
    traits, computed, first, last = profiles["u1"]
    assert traits == {"email": "u1@example.com"}
    assert computed["event_counts"] == {"Product Viewed": 2, "Order Completed": 1}
    assert computed["orders"] == 1
    assert computed["favourite_category"] == "Books"
    assert (first, last) == (START, START + timedelta(minutes=3))


def test_alias_merges_two_known_people(storage: Storage) -> None:
    clock = SimClock(START)
    _run(
        storage,
        clock,
        [track("Product Viewed", START, user="old"), track("Product Viewed", START, user="new")],
        [alias(START + timedelta(minutes=1), previous="old", user="new")],
    )
    profiles = _profiles(storage)
    assert list(profiles) == ["new"]
    assert profiles["new"][1]["event_counts"] == {"Product Viewed": 2}
    with storage.snapshot() as tx:
        assert tx.profiles.resolve("user", "old") == "new"


def test_bot_events_stay_in_the_log_but_do_not_count(storage: Storage) -> None:
    from dataclasses import replace

    clock = SimClock(START)
    bot = replace(track("Product Viewed", START, anon="crawler"), is_bot=True)
    _run(storage, clock, [bot, track("Product Viewed", START, user="u1")])
    assert list(_profiles(storage)) == ["u1"]
    with storage.snapshot() as tx:
        assert [e.event.is_bot for e in tx.log.read_after(0, 10)] == [True, False]


# --- order independence ------------------------------------------------------------------

_USERS = ["u0", "u1", "u2", "u3"]


@st.composite
def _event(draw: st.DrawFn, index: int) -> Event:
    person = draw(st.integers(0, 3))
    at = START + timedelta(minutes=draw(st.integers(0, 50)))
    mid = f"m{index}"
    kind = draw(st.sampled_from(["view", "order", "identify", "alias", "anon_view"]))
    if kind == "identify":
        return identify(
            at,
            user=_USERS[person],
            anon=f"a{person}",
            message_id=mid,
            plan=draw(st.sampled_from(["free", "pro"])),
        )
    if kind == "alias" and person >= 2:
        return alias(at, previous=_USERS[person], user=_USERS[person - 2], message_id=mid)
    if kind == "anon_view":
        return track("Product Viewed", at, anon=f"a{person}", message_id=mid, category="Toys")
    if kind == "order":
        return track(
            "Order Completed",
            at,
            user=_USERS[person],
            message_id=mid,
            revenue=draw(st.integers(1, 9999)) / 100,
        )
    return track(
        "Product Viewed",
        at,
        user=_USERS[person],
        message_id=mid,
        category=draw(st.sampled_from(["Books", "Garden"])),
    )


@st.composite
def _scenario(draw: st.DrawFn) -> tuple[list[Event], list[list[Event]]]:
    n = draw(st.integers(1, 25))
    events = [draw(_event(i)) for i in range(n)]
    delivered = draw(st.permutations(events))
    dupes = draw(st.lists(st.sampled_from(events), max_size=5))
    stream = list(delivered) + dupes
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=4)))
    batches = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    return events, batches


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(scenario=_scenario())
def test_any_interleaving_of_duplicated_reordered_batches_gives_the_same_profiles(
    tmp_path_factory: Any, scenario: tuple[list[Event], list[list[Event]]]
) -> None:
    events, batches = scenario
    folder = tmp_path_factory.mktemp("order")
    reference = SqlStorage(Database(f"sqlite:///{folder / 'ref.db'}"))
    shuffled = SqlStorage(Database(f"sqlite:///{folder / 'shuffled.db'}"))
    try:
        _run(reference, SimClock(START), events)
        _run(shuffled, SimClock(START), *batches)
        assert _profiles(shuffled) == _profiles(reference)
    finally:
        reference.close()
        shuffled.close()
