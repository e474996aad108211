"""The fold engine, without a database: identities, merges, and what it asks to be written."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from conftest import START
from factories import identify, track

from pertinent.events.model import Event, LoggedEvent
from pertinent.processor.effects import (
    EmitEvents,
    ExitSegment,
    LinkIdentities,
    MergeProfiles,
    RecordEvents,
    SaveProfiles,
    UpsertProducts,
)
from pertinent.processor.fold import FoldState, fold
from pertinent.profiles.state import ProfileState


def _logged(*events: Event) -> list[LoggedEvent]:
    return [LoggedEvent(seq, e) for seq, e in enumerate(events, start=1)]


def _of(effects: list[object], kind: type) -> list[object]:
    return [e for e in effects if isinstance(e, kind)]


def test_an_identify_merges_the_anonymous_profile_and_closes_its_memberships() -> None:
    anonymous = ProfileState("anon:a1", computed={"orders": 1}, version=3)
    known = ProfileState("u1", traits={"city": "NYC"}, version=5)
    state = FoldState(
        identities={("anon", "a1"): "anon:a1", ("user", "u1"): "u1"},
        profiles={"anon:a1": anonymous, "u1": known},
        memberships={"anon:a1": frozenset({"browsers"})},
    )
    batch = _logged(
        track("Product Viewed", START, anon="a1", category="Books"),
        identify(START + timedelta(minutes=1), user="u1", anon="a1", email="u1@example.com"),
    )

    folded = fold(state, batch, START)

    assert _of(folded.effects, MergeProfiles) == [MergeProfiles("anon:a1", "u1", 3)]
    assert _of(folded.effects, ExitSegment) == [
        ExitSegment("browsers", frozenset({"anon:a1"}), START)
    ]
    [exits] = _of(folded.effects, EmitEvents)
    assert [e.properties for e in exits.events] == [{"segment": "browsers", "merged": "anon:a1"}]
    [saved] = _of(folded.effects, SaveProfiles)
    assert [s.profile_id for s in saved.states] == ["u1"]
    assert saved.states[0].traits == {"city": "NYC", "email": "u1@example.com"}
    assert saved.states[0].computed["orders"] == 1, "the anonymous history came along"
    [recorded] = _of(folded.effects, RecordEvents)
    assert [(seq, pid) for seq, pid, *_ in recorded.rows] == [(1, "u1"), (2, "u1")]
    assert [pid for pid, _ in folded.inputs] == ["u1", "u1"]
    assert (folded.merged, folded.gone, folded.created) == ({"u1"}, {"anon:a1"}, frozenset())
    assert folded.links == {("anon", "a1"): "u1", ("user", "u1"): "u1"}


def test_new_people_get_new_links_and_bots_are_left_out() -> None:
    bot = track("Product Viewed", START, anon="crawler")
    bot.is_bot = True
    folded = fold(
        FoldState(identities={}, profiles={}),
        _logged(bot, identify(START, user="u2", anon="a2", email="u2@example.com")),
        START,
    )
    [links] = _of(folded.effects, LinkIdentities)
    assert sorted(links.links) == [("anon", "a2", "u2"), ("user", "u2", "u2")]
    assert folded.created == {"u2"}
    assert [e.type for _, e in folded.inputs] == ["identify"]
    [recorded] = _of(folded.effects, RecordEvents)
    assert [seq for seq, *_ in recorded.rows] == [2]


def test_products_are_combined_from_every_event_that_describes_them() -> None:
    kettle = {"product_id": "k1", "name": "Kettle", "price": 39}
    folded = fold(
        FoldState(identities={}, profiles={}),
        _logged(
            replace(track("Product Viewed", START, user="u1"), properties=kettle),
            replace(track("Product Viewed", START, user="u2"), properties=dict(kettle)),
            track("Product Added", START, user="u1", product_id="k1", category="Kitchen"),
        ),
        START,
    )
    [written] = _of(folded.effects, UpsertProducts)
    [product] = written.products
    assert (product.item_id, product.title, product.price, product.category) == (
        "k1",
        "Kettle",
        39.0,
        "Kitchen",
    )
