"""The storage contract: every port behaves the same on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from conftest import START
from factories import identify, outbox_item, track

from pertinent.delivery.outbox import OutboxItem
from pertinent.journeys.runtime import Instance
from pertinent.profiles.state import ProfileState
from pertinent.storage.sql.storage import SqlStorage


def test_log_appends_in_order_and_skips_duplicate_message_ids(storage: SqlStorage) -> None:
    a = track("Product Viewed", START, user="u1", message_id="m1", sku="A")
    b = track("Product Viewed", START, user="u1", message_id="m2", sku="B")
    with storage.transaction() as tx:
        first = tx.log.append([a, b, a])
    with storage.transaction() as tx:
        again = tx.log.append([b])
    assert (first.accepted, first.duplicates) == (2, 1)
    assert (again.accepted, again.duplicates) == (0, 1)
    with storage.snapshot() as tx:
        logged = tx.log.read_after(0, 10)
        assert tx.log.last_seq() == logged[-1].seq
    assert [e.event.message_id for e in logged] == ["m1", "m2"]
    assert logged[0].seq < logged[1].seq
    assert logged[1].event.properties == {"sku": "B"}
    assert logged[0].event.timestamp == START


def test_read_after_resumes_from_a_seq(storage: SqlStorage) -> None:
    with storage.transaction() as tx:
        tx.log.append([track("E", START, user="u", message_id=f"m{i}") for i in range(5)])
    with storage.snapshot() as tx:
        everything = tx.log.read_after(0, 100)
        rest = tx.log.read_after(everything[1].seq, 2)
    assert [e.event.message_id for e in rest] == ["m2", "m3"]


def test_the_log_says_when_the_first_unprocessed_event_arrived(storage: SqlStorage) -> None:
    with storage.transaction() as tx:
        tx.log.append([track("E", START + timedelta(minutes=i), user="u") for i in range(3)])
    with storage.snapshot() as tx:
        first, _, third = tx.log.read_after(0, 10)
        assert tx.log.received_after(0) == START
        assert tx.log.received_after(first.seq) == START + timedelta(minutes=1)
        assert tx.log.received_after(third.seq) is None


def test_a_rolled_back_transaction_leaves_nothing(storage: SqlStorage) -> None:
    try:
        with storage.transaction() as tx:
            tx.log.append([track("E", START, user="u", message_id="gone")])
            tx.cursors.set("processor", 99)
            raise RuntimeError("crash")
    except RuntimeError:
        pass
    with storage.snapshot() as tx:
        assert tx.log.last_seq() == 0
        assert tx.cursors.get("processor") == 0


def test_profiles_identities_merge_and_erase(storage: SqlStorage) -> None:
    with storage.transaction() as tx:
        tx.log.append(
            [
                identify(START, user="u1", email="a@example.com"),
                track("Product Viewed", START, anon="x1"),
            ]
        )
        seqs = [e.seq for e in tx.log.read_after(0, 10)]
        tx.profiles.save(
            [ProfileState("u1", traits={"email": "a@example.com"}), ProfileState("anon:x1")]
        )
        tx.profiles.link([("user", "u1", "u1"), ("anon", "x1", "anon:x1")])
        tx.profiles.record(
            [(seqs[0], "u1", None, START, {}), (seqs[1], "anon:x1", "Product Viewed", START, {})]
        )
    with storage.snapshot() as tx:
        assert tx.profiles.resolve_many("anon", ["x1", "nobody"]) == {"x1": "anon:x1"}
        assert tx.profiles.resolve_many("user", []) == {}
    with storage.transaction() as tx:
        tx.profiles.merge("anon:x1", "u1")
    with storage.snapshot() as tx:
        assert tx.profiles.resolve("anon", "x1") == "u1"
        assert set(tx.profiles.load(["u1", "anon:x1"])) == {"u1"}
        assert tx.profiles.identities("u1") == [("anon", "x1"), ("user", "u1")]
        assert [t.action for t in tx.profiles.timeline("u1", 10)] == ["Product Viewed", None]
    bot_view = track("Product Viewed", START, user="u1")
    with storage.transaction() as tx:
        # Never attributed to the profile (a bot's, or not processed yet), still theirs.
        tx.log.append([replace(bot_view, is_bot=True), track("E", START, anon="x1")])
        tx.log.append([track("E", START, user="someone-else", message_id="kept")])
        tx.suppressions.add("a@example.com", "u1", "unsubscribed", START)
    with storage.transaction() as tx:
        assert tx.profiles.erase("u1") == 4
    with storage.snapshot() as tx:
        assert tx.profiles.load(["u1"]) == {}
        assert tx.profiles.resolve("user", "u1") is None
        assert [e.event.message_id for e in tx.log.read_after(0, 10)] == ["kept"]
        assert tx.suppressions.is_suppressed("a@example.com"), "an unsubscribe outlives erasure"


def test_membership_history_and_timers(storage: SqlStorage) -> None:
    later = START + timedelta(hours=1)
    with storage.transaction() as tx:
        tx.segments.enter("vip", {"a", "b"}, START)
        tx.segments.exit("vip", {"a"}, later)
        tx.segments.set_timers("vip", {"b": later}, clear=set())
    with storage.snapshot() as tx:
        assert tx.segments.current("vip", None) == {"b"}
        assert tx.segments.current("vip", {"a"}) == set()
        assert tx.segments.sizes() == {"vip": 1}
        assert [(p, t) for p, t, _ in tx.segments.history("vip")] == [("a", START), ("b", START)]
    with storage.transaction() as tx:
        assert tx.segments.due_timers(START, 10) == {}
        assert tx.segments.due_timers(later, 10) == {"vip": {"b"}}
        assert tx.segments.due_timers(later, 10) == {}


def test_journey_instances_wake_when_due(storage: SqlStorage) -> None:
    with storage.transaction() as tx:
        inst = tx.journeys.save(
            Instance(
                "cart", "u1", 0, "waiting", START, {"name": "E"}, wake_at=START + timedelta(hours=1)
            )
        )
    assert inst.id is not None
    with storage.snapshot() as tx:
        assert tx.journeys.due(START, 10) == []
        assert [i.id for i in tx.journeys.due(START + timedelta(hours=1), 10)] == [inst.id]
        assert [i.trigger for i in tx.journeys.active({"u1"})] == [{"name": "E"}]
        assert tx.journeys.has_entered("cart", "u1")


def _item(key: str, message_id: str) -> OutboxItem:
    return outbox_item(key, message_id, START, journey_key="cart", meta={"step": 1})


def test_outbox_enqueues_an_idempotency_key_once(storage: SqlStorage) -> None:
    with storage.transaction() as tx:
        assert tx.outbox.enqueue(_item("1:1", "m1"))
        assert not tx.outbox.enqueue(_item("1:1", "m2"))
    lease = timedelta(minutes=5)
    with storage.transaction() as tx:
        due = tx.outbox.claim(START, lease, 10)
        assert [d.item.message_id for d in due] == ["m1"]
        assert tx.outbox.claim(START, lease, 10) == [], "a claimed row is not handed out twice"
        tx.outbox.mark_retry(due[0].id, START + timedelta(minutes=1), "busy")
    with storage.transaction() as tx:
        assert tx.outbox.claim(START, lease, 10) == []
        due = tx.outbox.claim(START + timedelta(minutes=1), lease, 10)
        assert due[0].attempts == 1
        tx.outbox.mark_sent(due[0].id, START)
    with storage.transaction() as tx:
        assert tx.outbox.claim(START + timedelta(days=1), lease, 10) == []


def test_a_claim_whose_sender_died_is_retried_after_the_lease(storage: SqlStorage) -> None:
    lease = timedelta(minutes=5)
    with storage.transaction() as tx:
        tx.outbox.enqueue(_item("2:1", "m9"))
        assert len(tx.outbox.claim(START, lease, 10)) == 1
    with storage.transaction() as tx:
        assert tx.outbox.claim(START + timedelta(minutes=4), lease, 10) == []
        assert len(tx.outbox.claim(START + lease, lease, 10)) == 1


def test_suppressions_ignore_case(storage: SqlStorage) -> None:
    with storage.transaction() as tx:
        tx.suppressions.add(" A@Example.com ", "u1", "unsubscribed", START)
        tx.suppressions.add("a@example.com", "u1", "unsubscribed", START)
    with storage.snapshot() as tx:
        assert tx.suppressions.is_suppressed("a@EXAMPLE.com")
        assert not tx.suppressions.is_suppressed("b@example.com")
