"""The privacy side of the storage contract, on every adapter: consent history, suppressions
lifted for a returning subscriber, catalogue rows that remember who described them, the
browser-key mark on events, and everything held on one person in one read."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from conftest import START
from factories import identify, outbox_item, track

from pertinent.journeys.model import Instance
from pertinent.privacy.consent import ConsentChange
from pertinent.profiles.state import ProfileState
from pertinent.recommend.catalogue import Product
from pertinent.storage.ports import Storage

LATER = START + timedelta(hours=1)


def _person(storage: Storage, user: str, anon: str | None = None) -> None:
    """A stored person with an identity or two, as the fold leaves them."""
    with storage.transaction() as tx:
        tx.profiles.save([ProfileState(user, traits={"email": f"{user}@example.com"})])
        links = [("user", user, user)] + ([("anon", anon, user)] if anon else [])
        tx.profiles.link(links)


def test_consent_history_comes_back_per_person_in_the_order_recorded(storage: Storage) -> None:
    first = ConsentChange("u1", "newsletter", "pending", START, "sign_up", "u1@example.com")
    second = ConsentChange("u1", "newsletter", "opted_in", START, "confirmation")
    theirs = ConsentChange("u2", "*", "opted_out", START, "one_click")
    with storage.transaction() as tx:
        tx.consent.record([first, theirs])
        tx.consent.record([second])
        tx.consent.record([])
    with storage.snapshot() as tx:
        assert tx.consent.history(["u1"]) == [first, second], "same time: the order recorded"
        assert tx.consent.history(["u1", "u2", "ghost"]) == [first, theirs, second]
        assert tx.consent.history([]) == []


def test_consent_follows_a_merge_and_goes_with_an_erasure(storage: Storage) -> None:
    _person(storage, "u1")
    with storage.transaction() as tx:
        tx.profiles.save([ProfileState("anon:a1")])
        tx.profiles.link([("anon", "a1", "anon:a1")])
        tx.consent.record([ConsentChange("anon:a1", "newsletter", "opted_in", START, "sign_up")])
        tx.consent.record([ConsentChange("u1", "offers", "opted_out", LATER, "admin")])
    with storage.transaction() as tx:
        tx.profiles.merge("anon:a1", "u1", loser_version=1)
    with storage.snapshot() as tx:
        assert [(c.profile_id, c.topic) for c in tx.consent.history(["u1"])] == [
            ("u1", "newsletter"),
            ("u1", "offers"),
        ]
        assert tx.consent.history(["anon:a1"]) == []
    with storage.transaction() as tx:
        tx.profiles.erase("u1")
    with storage.snapshot() as tx:
        assert tx.consent.history(["u1"]) == []


def test_only_an_unsubscribe_is_lifted_never_a_bounce(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.suppressions.add("Ann@Example.com", "u1", "unsubscribed", START)
        tx.suppressions.add("bob@example.com", "u2", "bounced", START)
    with storage.transaction() as tx:
        assert tx.suppressions.lift("ann@example.com", "unsubscribed")
        assert not tx.suppressions.lift("bob@example.com", "unsubscribed")
        assert not tx.suppressions.lift("nobody@example.com", "unsubscribed")
    with storage.snapshot() as tx:
        assert tx.suppressions.suppressed(["ann@example.com", "bob@example.com"]) == {
            "bob@example.com"
        }


def test_a_product_remembers_who_described_it_last_through_merges_and_erasure(
    storage: Storage,
) -> None:
    _person(storage, "u1")
    _person(storage, "u2")
    with storage.transaction() as tx:
        tx.profiles.save([ProfileState("anon:a9")])
        tx.profiles.link([("anon", "a9", "anon:a9")])
        tx.products.upsert([Product(item_id="imported", title="Lamp")])
        tx.products.upsert(
            [Product(item_id="gift", title="Engraved for Ann"), Product(item_id="mug")],
            {"gift": "anon:a9", "mug": "u2"},
        )
        # Described again without a change: whoever changed it last is still its describer.
        tx.products.upsert([Product(item_id="mug")], {"mug": "u1"})
        tx.products.upsert([Product(item_id="lamp", title="Lamp")], {"lamp": "anon:a9"})
    with storage.transaction() as tx:
        tx.profiles.merge("anon:a9", "u1", loser_version=1)
    assert storage.reads.person("u1").described == ["gift", "lamp"]  # type: ignore[union-attr]
    with storage.transaction() as tx:
        tx.products.share(["lamp", "ghost"])
        tx.products.share([])
    assert storage.reads.person("u1").described == ["gift"]  # type: ignore[union-attr]
    with storage.transaction() as tx:
        tx.profiles.erase("u1")
    with storage.snapshot() as tx:
        assert set(tx.products.all()) == {"imported", "mug", "lamp"}, "only their own went"


def test_the_browser_key_mark_is_kept_in_the_log(storage: Storage) -> None:
    sent = track("Product Viewed", START, user="u1", message_id="b")
    with storage.transaction() as tx:
        tx.log.append([replace(sent, browser_key=True), track("E", START, user="u1")])
    with storage.snapshot() as tx:
        assert [e.event.browser_key for e in tx.log.read_after(0, 10)] == [True, False]


def test_everything_held_on_a_person_comes_back_in_one_read(storage: Storage) -> None:
    _person(storage, "u1", anon="a1")
    instance = Instance("k1", "welcome", "u1", 1, "completed", START, {"event": "Signed Up"})
    with storage.transaction() as tx:
        tx.log.append(
            [
                identify(START, user="u1", message_id="theirs", email="u1@example.com"),
                track("Product Viewed", START, anon="a1", message_id="unprocessed"),
                track("E", START, user="u2", message_id="someone else's"),
            ]
        )
        seq = tx.log.read_after(0, 1)[0].seq
        tx.profiles.record([(seq, "u1", None, START, {})])
        tx.segments.enter("buyers", {"u1"}, START)
        tx.segments.exit("buyers", {"u1"}, LATER)
        tx.journeys.save([instance])
        tx.outbox.enqueue([outbox_item("welcome:u1:0", "m1", START, subject="Hello Ann")])
        tx.consent.record([ConsentChange("u1", "newsletter", "opted_out", START, "one_click")])
        tx.suppressions.add("u1@example.com", "u1", "unsubscribed", START)
        tx.products.upsert([Product(item_id="gift")], {"gift": "u1"})
    record = storage.reads.person("u1")
    assert record is not None
    assert record.profile.state.traits == {"email": "u1@example.com"}
    assert [e.event.message_id for e in record.events] == ["theirs", "unprocessed"]
    assert record.memberships == [("buyers", START, LATER)]
    assert [(j.key, j.status) for j in record.journeys] == [("k1", "completed")]
    assert [(e.item.message_id, e.item.subject, e.status) for e in record.emails] == [
        ("m1", "Hello Ann", "pending")
    ]
    assert [c.status for c in record.consent] == ["opted_out"]
    assert record.suppressed == ["u1@example.com"]
    assert record.described == ["gift"]
    assert storage.reads.person("ghost") is None
