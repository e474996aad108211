"""RFM: scores by fifths of the customers, with ties scored alike; recomputed on a schedule,
written through the profiles, and the segments that read them moved at once."""

from __future__ import annotations

import itertools
from datetime import timedelta

from conftest import START
from factories import processor, track
from hypothesis import given
from hypothesis import strategies as st

from pertinent.clock import SimClock
from pertinent.processor.rfm import rfm_due, score_rfm
from pertinent.profiles.rfm import Customer, Population
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.language import SegmentDefinition
from pertinent.storage.ports import Storage


def _scores(orders: list[int]) -> list[int]:
    customers = [Customer(f"c{i}", START, n, 10.0) for i, n in enumerate(orders)]
    population = Population()
    population.add(customers)
    return [s["rfm_frequency_score"] for s in population.scores(customers)]


def test_scores_are_fifths_of_the_customers() -> None:
    assert _scores(list(range(1, 11))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Most customers order once: they share the bottom score, not a middling one.
    assert _scores([1] * 8 + [3, 3]) == [1] * 8 + [5, 5]
    assert _scores([2, 2]) == [1, 1]


@given(st.lists(st.integers(1, 50), min_size=1, max_size=60))
def test_a_score_grows_with_the_value_and_ties_score_alike(orders: list[int]) -> None:
    scores = _scores(orders)
    assert all(1 <= s <= 5 for s in scores)
    ranked = sorted(zip(orders, scores, strict=True))
    for (a, sa), (b, sb) in itertools.pairwise(ranked):
        assert sb >= sa and (a != b or sa == sb)
    assert scores[orders.index(min(orders))] == 1
    for s in range(2, 6):  # a score of s or more: (s-1) fifths of the customers below
        assert sum(1 for x in scores if x >= s) <= len(orders) * (6 - s) / 5


TOP = SegmentDefinition.model_validate(
    {
        "key": "top_spenders",
        "condition": {
            "type": "trait",
            "trait": "computed.rfm_monetary_score",
            "op": "gte",
            "value": 4,
        },
    }
)
RECENT = SegmentDefinition.model_validate(
    {
        "key": "recent",
        "condition": {"type": "trait", "trait": "computed.rfm_recency", "op": "lt", "value": 1},
    }
)


def _order(storage: Storage, who: str, revenue: float, at_minutes: int) -> None:
    with storage.transaction() as tx:
        tx.log.append(
            [
                track(
                    "Order Completed",
                    START + timedelta(minutes=at_minutes),
                    user=who,
                    revenue=revenue,
                )
            ]
        )


def _computed(storage: Storage, pid: str) -> dict[str, object]:
    with storage.snapshot() as tx:
        return tx.profiles.load([pid])[pid].computed


def _segment_events(storage: Storage) -> list[tuple[str, str, str, bool]]:
    with storage.snapshot() as tx:
        return [
            (
                e.event.name or "",
                e.event.user_id or "",
                e.event.properties["segment"],
                bool(e.event.properties.get("backfill")),
            )
            for e in tx.log.read_after(0, 1000)
            if (e.event.name or "").startswith("segment_")
        ]


def test_a_scheduled_run_scores_customers_and_moves_their_segments(storage: Storage) -> None:
    clock = SimClock(START)
    shop = processor(storage, clock, [TOP, RECENT])
    segments = SegmentSet([TOP, RECENT])
    for i, who in enumerate("abcde"):
        _order(storage, who, 10.0 * (i + 1), at_minutes=i)
    clock.advance(timedelta(hours=1))
    shop.run_until_idle()
    assert rfm_due(storage, clock.now(), timedelta(hours=24))
    assert _segment_events(storage) == [
        ("segment_entered", who, "recent", False) for who in "abcde"
    ], "the alias of days since the last order needs no run"

    first = score_rfm(storage, segments, clock.now())
    assert (first.customers, first.changed) == (5, 5)
    assert first.distribution == {
        "recency": [1, 1, 1, 1, 1],
        "frequency": [5, 0, 0, 0, 0],
        "monetary": [1, 1, 1, 1, 1],
    }
    assert _computed(storage, "e")["rfm_score"] == "515", "latest, one order, most spent"
    assert _computed(storage, "a")["rfm_monetary_score"] == 1
    assert _segment_events(storage)[5:] == [
        ("segment_entered", "d", "top_spenders", True),
        ("segment_entered", "e", "top_spenders", True),
    ], "the first scoring of a workspace is a backfill"
    assert not rfm_due(storage, clock.now(), timedelta(hours=24))

    _order(storage, "a", 100.0, at_minutes=90)  # a is now the biggest spender
    clock.advance(timedelta(hours=1))
    shop.run_until_idle()
    assert _computed(storage, "a")["rfm_monetary_score"] == 1, "scores wait for the next run"
    clock.advance(timedelta(hours=24))
    assert rfm_due(storage, clock.now(), timedelta(hours=24))
    again = score_rfm(storage, segments, clock.now())
    assert again.changed == 5, "a moved up, everyone a passed moved down a fifth"
    assert [_computed(storage, p)["rfm_monetary_score"] for p in "abcde"] == [5, 1, 2, 3, 4]
    assert sorted(_segment_events(storage)[7:]) == [
        ("segment_entered", "a", "top_spenders", False),
        ("segment_exited", "d", "top_spenders", False),
    ]
    with storage.snapshot() as tx:
        assert tx.segments.current(None)["top_spenders"] == {"a", "e"}
