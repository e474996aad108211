"""The storage contract: every port behaves the same on every adapter (in memory, SQLite,
PostgreSQL), against real databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import START
from factories import identify, track

from pertinent.events.model import Flag
from pertinent.journeys.model import Instance
from pertinent.profiles.rfm import Customer
from pertinent.profiles.state import ProfileState
from pertinent.segments.language import PerformedCondition, SegmentDefinition
from pertinent.segments.timing import Clock
from pertinent.storage.ports import (
    ConcurrentUpdate,
    Partition,
    Storage,
    Violation,
    partition_key,
)


def test_log_appends_in_order_and_skips_duplicate_message_ids(storage: Storage) -> None:
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


def test_batches_appended_together_are_each_answered_for(storage: Storage) -> None:
    first = [
        track("E", START, user="u", message_id="a"),
        track("E", START, user="u", message_id="b"),
    ]
    again = [
        track("E", START, user="u", message_id="b"),
        track("E", START, user="v", message_id="c"),
    ]
    results = storage.append([first, again, []])
    assert [(r.accepted, r.duplicates) for r in results] == [(2, 0), (1, 1), (0, 0)]
    with storage.snapshot() as tx:
        assert [e.event.message_id for e in tx.log.read_after(0, 10)] == ["a", "b", "c"]


def test_read_after_resumes_from_a_seq(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.log.append([track("E", START, user="u", message_id=f"m{i}") for i in range(5)])
    with storage.snapshot() as tx:
        everything = tx.log.read_after(0, 100)
        rest = tx.log.read_after(everything[1].seq, 2)
    assert [e.event.message_id for e in rest] == ["m2", "m3"]


def test_a_partition_reads_the_events_of_its_people_only(storage: Storage) -> None:
    users = [f"u{i}" for i in range(12)]
    with storage.transaction() as tx:
        tx.log.append([track("E", START, user=u, message_id=u) for u in users])
        tx.log.append([track("E", START, anon="a1", message_id="anon")])
    shares = [Partition(i, 3) for i in range(3)]
    with storage.snapshot() as tx:
        read = [[e.event.message_id for e in tx.log.read_after(0, 100, p)] for p in shares]
    assert sorted(m for part in read for m in part) == sorted([*users, "anon"])
    for share, ids in zip(shares, read, strict=True):
        for message_id in ids:
            owner = "anon:a1" if message_id == "anon" else message_id
            assert share.owns(partition_key(owner))


def test_the_log_says_when_the_first_unprocessed_event_arrived(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.log.append([track("E", START + timedelta(minutes=i), user="u") for i in range(3)])
    with storage.snapshot() as tx:
        first, _, third = tx.log.read_after(0, 10)
        assert tx.log.received_after(0) == START
        assert tx.log.received_after(first.seq) == START + timedelta(minutes=1)
        assert tx.log.received_after(third.seq) is None


def test_cursors_are_taken_set_listed_and_dropped(storage: Storage) -> None:
    with storage.transaction() as tx:
        assert tx.cursors.take("processor/0of2") == 0
        tx.cursors.set("processor/0of2", 7)
        tx.cursors.set("processor/1of2", 3)
    with storage.transaction() as tx:
        assert tx.cursors.take("processor/0of2") == 7
        assert tx.cursors.all() == {"processor/0of2": 7, "processor/1of2": 3}
        tx.cursors.drop("processor/1of2")
    with storage.snapshot() as tx:
        assert tx.cursors.all() == {"processor/0of2": 7}
        assert tx.cursors.get("missing") == 0


def test_a_rolled_back_transaction_leaves_nothing(storage: Storage) -> None:
    try:
        with storage.transaction() as tx:
            tx.log.append([track("E", START, user="u", message_id="gone")])
            tx.cursors.set("processor", 99)
            tx.profiles.save([ProfileState("u", traits={"a": 1})])
            raise RuntimeError("crash")
    except RuntimeError:
        pass
    with storage.snapshot() as tx:
        assert tx.log.last_seq() == 0
        assert tx.cursors.get("processor") == 0
        assert tx.profiles.load(["u"]) == {}


def test_profiles_are_saved_with_versions_that_catch_a_lost_update(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.profiles.save([ProfileState("u1", traits={"city": "NYC"})])
    with storage.snapshot() as tx:
        mine = tx.profiles.load(["u1"])["u1"]
        theirs = tx.profiles.load(["u1"])["u1"]
    assert mine.version == 1 and mine.traits == {"city": "NYC"}
    with storage.transaction() as tx:
        theirs.traits["city"] = "LA"
        tx.profiles.save([theirs])
    assert theirs.version == 2
    with pytest.raises(ConcurrentUpdate), storage.transaction() as tx:
        tx.profiles.save([mine])
    with pytest.raises(ConcurrentUpdate), storage.transaction() as tx:
        tx.profiles.save([ProfileState("u1")])  # "new", but someone made it first
    with storage.transaction() as tx:
        tx.profiles.touch(["u1", "nobody"])
    with storage.snapshot() as tx:
        stored = tx.profiles.load(["u1", "nobody"])
    assert list(stored) == ["u1"]
    assert (stored["u1"].traits, stored["u1"].version) == ({"city": "LA"}, 3)


def test_a_person_erased_after_they_were_loaded_is_not_saved_back(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.log.append([track("E", START, user="u1")])
        tx.profiles.save([ProfileState("u1", traits={"email": "u1@example.com"})])
        tx.profiles.link([("user", "u1", "u1")])
        seq = tx.log.read_after(0, 1)[0].seq
    with storage.snapshot() as tx:
        loaded = tx.profiles.load(["u1"])["u1"]
    with storage.transaction() as tx:
        tx.profiles.erase("u1")
    with pytest.raises(ConcurrentUpdate), storage.transaction() as tx:
        tx.profiles.save([loaded])
    with pytest.raises(ConcurrentUpdate), storage.transaction() as tx:
        tx.profiles.record([(seq, "u1", "E", START, {})])
    assert storage.reads.profile("u1") is None


def test_identities_link_once_and_a_second_link_is_a_conflict(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.profiles.link([("user", "u1", "u1"), ("anon", "x1", "u1")])
    with pytest.raises(ConcurrentUpdate), storage.transaction() as tx:
        tx.profiles.link([("anon", "x1", "u2")])
    with storage.snapshot() as tx:
        assert tx.profiles.resolve("anon", "x1") == "u1"
        assert tx.profiles.resolve_many("user", ["u1", "u9"]) == {"u1": "u1"}


def test_profiles_identities_merge_and_erase(storage: Storage) -> None:
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
    with pytest.raises(ConcurrentUpdate), storage.transaction() as tx:
        tx.profiles.merge("anon:x1", "u1", loser_version=7)
    with storage.transaction() as tx:
        tx.profiles.merge("anon:x1", "u1", loser_version=1)
    with storage.snapshot() as tx:
        assert tx.profiles.resolve("anon", "x1") == "u1"
        assert set(tx.profiles.load(["u1", "anon:x1"])) == {"u1"}
        assert tx.profiles.identities("u1") == [("anon", "x1"), ("user", "u1")]
        assert [a for _, a, _, _ in tx.profiles.actions(["Product Viewed"])] == ["Product Viewed"]
    assert [t.action for t in storage.reads.timeline("u1", 10)] == ["Product Viewed", None]
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
        assert tx.suppressions.suppressed(["a@example.com"]) == {"a@example.com"}, (
            "an unsubscribe outlives erasure"
        )


def test_segment_conditions_are_evaluated_for_the_people_asked_about(storage: Storage) -> None:
    viewed = PerformedCondition(type="performed", event="V", at_least=2, within=timedelta(hours=1))
    segments = {
        "viewers": viewed,
        "nyc_viewers": SegmentDefinition.model_validate(
            {
                "key": "nyc_viewers",
                "condition": {
                    "type": "all",
                    "conditions": [
                        {"type": "trait", "trait": "city", "value": "NYC"},
                        {"type": "in_segment", "segment": "viewers"},
                    ],
                },
            }
        ).condition,
    }
    views = [
        ("a", START - timedelta(minutes=50)),
        ("a", START - timedelta(minutes=10)),
        ("b", START),
        ("b", START),
        ("b", START - timedelta(hours=2)),
    ]
    with storage.transaction() as tx:
        tx.profiles.save(
            [ProfileState("a", traits={"city": "NYC"}), ProfileState("b", traits={"city": "LA"})]
        )
        tx.log.append([track("V", at, user=pid) for pid, at in views])
        logged = tx.log.read_after(0, 10)
        tx.profiles.record(
            [(e.seq, pid, "V", at, {}) for e, (pid, at) in zip(logged, views, strict=True)]
        )
    with storage.snapshot() as tx:
        assert tx.segments.matching(segments, {"viewers": None, "nyc_viewers": None}, START) == {
            "viewers": {"a", "b"},
            "nyc_viewers": {"a"},
        }
        assert tx.segments.matching(segments, {"viewers": ["b"]}, START) == {"viewers": {"b"}}
        later = START + timedelta(minutes=15)
        assert tx.segments.matching(segments, {"viewers": None}, later) == {"viewers": {"b"}}
        assert sorted(tx.segments.anchors([(Clock(viewed, "earliest"), None)], START)) == [
            (0, "a", START - timedelta(minutes=50)),
            (0, "b", START),
        ]
        assert tx.segments.anchors([(Clock(viewed, "earliest"), ["a"])], START) == [
            (0, "a", START - timedelta(minutes=50))
        ]


def test_customers_are_read_a_page_at_a_time_with_the_score_they_were_given(
    storage: Storage,
) -> None:
    bought = {"orders": 2, "revenue": 30.5, "last_order_at": START.isoformat(), "rfm_score": "545"}
    once = {"orders": 1, "revenue": 10, "last_order_at": (START - timedelta(days=1)).isoformat()}
    with storage.transaction() as tx:
        tx.profiles.save(
            [
                ProfileState("a", computed=bought),
                ProfileState("b", computed={"orders": 0, "revenue": 0.0, "last_order_at": None}),
                ProfileState("c", computed=once),
                ProfileState("d"),
            ]
        )
    with storage.snapshot() as tx:
        everyone = tx.profiles.customers(None, 10)
        assert [c.profile_id for c in tx.profiles.customers(None, 1)] == ["a"]
        assert [c.profile_id for c in tx.profiles.customers("a", 10)] == ["c"]
    assert everyone == [
        Customer("a", START, 2, 30.5, "545"),
        Customer("c", START - timedelta(days=1), 1, 10.0, None),
    ]


def test_membership_history_and_timers(storage: Storage) -> None:
    later = START + timedelta(hours=1)
    everything = Partition()
    with storage.transaction() as tx:
        tx.segments.enter("vip", {"a", "b"}, START)
        tx.segments.exit("vip", {"a"}, later)
        tx.segments.set_timers("vip", {"b": later}, clear=set())
        tx.segments.set_timers("other", {"a": later + timedelta(hours=1)}, clear=set())
    with storage.snapshot() as tx:
        assert tx.segments.current(None) == {"vip": {"b"}}
        assert tx.segments.current(["a"]) == {}
        assert [(p, t) for p, t, _ in tx.segments.history("vip")] == [("a", START), ("b", START)]
        assert tx.segments.next_due(everything) == later
    assert storage.reads.segment_sizes() == {"vip": 1}
    assert [m.profile_id for m in storage.reads.members("vip", 10, 0)] == ["b"]
    with storage.transaction() as tx:
        assert tx.segments.claim_due(START, 10, everything) == {}
        assert tx.segments.claim_due(later, 10, everything) == {"vip": {"b"}}
        assert tx.segments.claim_due(later, 10, everything) == {}
        tx.segments.set_timers("other", {}, clear={"a"})
    with storage.snapshot() as tx:
        assert tx.segments.next_due(everything) is None


def test_timers_are_claimed_by_the_partition_of_their_person(storage: Storage) -> None:
    people = [f"p{i}" for i in range(10)]
    with storage.transaction() as tx:
        tx.segments.set_timers("s", {p: START for p in people}, clear=set())
    claimed: list[str] = []
    with storage.transaction() as tx:
        for index in range(2):
            share = Partition(index, 2)
            got = tx.segments.claim_due(START, 100, share).get("s", set())
            assert all(share.owns(partition_key(p)) for p in got)
            claimed.extend(got)
    assert sorted(claimed) == sorted(people)


def _instance(key: str, wake: timedelta | None, **fields: object) -> Instance:
    values: dict[str, object] = {
        "journey_key": "cart",
        "profile_id": "u1",
        "step": "step1",
        "status": "waiting",
        "started_at": START,
        "trigger": {"name": "E"},
        "wake_at": START + wake if wake is not None else None,
        **fields,
    }
    return Instance(key, **values)  # type: ignore[arg-type]


def test_journey_instances_are_saved_by_key_and_wake_when_due(storage: Storage) -> None:
    first = _instance("k1", timedelta(hours=1))
    with storage.transaction() as tx:
        tx.journeys.save([first, _instance("k2", None, journey_key="welcome", status="completed")])
    everything = Partition()
    with storage.snapshot() as tx:
        assert tx.journeys.next_due(everything) == START + timedelta(hours=1)
        assert [i.key for i in tx.journeys.active({"u1"})] == ["k1"]
        assert tx.journeys.active({"u1"})[0] == first
        assert tx.journeys.last_entered(["welcome"], {"u1", "u2"}) == {("welcome", "u1"): START}
    with storage.transaction() as tx:
        assert tx.journeys.claim_due(START, 10, everything) == []
        assert tx.journeys.claim_due(START + timedelta(hours=1), 10, everything) == [first]
        tx.journeys.save(
            [replace(first, step="step2", status="completed", wake_at=None, ended_at=START)]
        )
    with storage.snapshot() as tx:
        assert tx.journeys.active({"u1"}) == []
        assert tx.journeys.next_due(everything) is None
    assert storage.reads.status().journeys == {
        "cart": {"completed": 1},
        "welcome": {"completed": 1},
    }


def test_artefacts_keep_versions_and_erasures_until_forgotten(storage: Storage) -> None:
    with storage.transaction() as tx:
        assert tx.artefacts.latest("model") is None
        assert tx.artefacts.put("model", b"one", {"mark": 0}, START) == 1
        assert tx.artefacts.put("model", b"two", {"mark": 1}, START) == 2
        assert tx.artefacts.put("model", b"three", {"mark": 1}, START) == 3
        tx.artefacts.prune("model", keep=2)
        tx.artefacts.record_erasure("u1", START)
        tx.artefacts.record_erasure("u2", START)
    with storage.snapshot() as tx:
        latest = tx.artefacts.latest("model")
        assert latest is not None and (latest.version, latest.meta) == (3, {"mark": 1})
        assert tx.artefacts.blob("model", 1) is None
        assert tx.artefacts.blob("model", 2) == b"two"
        erased = tx.artefacts.erasures_after(0)
    assert [p for _, p in erased] == ["u1", "u2"]
    with storage.transaction() as tx:
        tx.artefacts.forget_erasures(erased[0][0])
        assert [p for _, p in tx.artefacts.erasures_after(0)] == ["u2"]


def test_partition_leases_go_to_one_owner_until_they_expire(storage: Storage) -> None:
    until = START + timedelta(seconds=10)
    with storage.transaction() as tx:
        assert tx.coordination.acquire(0, "p1", START, until)
        assert not tx.coordination.acquire(0, "p2", START, until)
        assert tx.coordination.acquire(0, "p1", START, until), "the owner renews"
        tx.coordination.heartbeat("p1", "processor", START)
        tx.coordination.heartbeat("s1", "sender", START)
    with storage.transaction() as tx:
        assert tx.coordination.leases(START) == {0: "p1"}
        assert tx.coordination.alive("processor", START) == ["p1"]
        assert tx.coordination.alive("processor", START + timedelta(seconds=1)) == []
        assert tx.coordination.acquire(0, "p2", until, until + timedelta(seconds=10))
        tx.coordination.release_lease(0, "p1")  # not p1's any more: nothing happens
        assert tx.coordination.leases(until) == {0: "p2"}
        tx.coordination.release_lease(0, "p2")
        assert tx.coordination.leases(until) == {}


def test_the_read_model_finds_people_and_counts_the_lag(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.log.append([track("E", START, user="u1"), track("E", START, anon="x")])
        tx.profiles.save([ProfileState("u1", traits={"a": 1})])
        tx.profiles.link([("user", "u1", "u1"), ("anon", "x", "u1")])
        first = tx.log.read_after(0, 1)[0].seq
        tx.cursors.set("processor", first)
    reads = storage.reads
    assert reads.find("u1") == "u1" and reads.find("x") == "u1" and reads.find("y") is None
    view = reads.profile("u1")
    assert view is not None and view.state.traits == {"a": 1}
    assert view.identities == [("anon", "x"), ("user", "u1")]
    status = reads.status()
    assert (status.processed_seq, status.lag, status.profiles) == (first, 1, 1)


def test_a_seq_is_never_handed_out_again_after_the_newest_events_are_erased(
    storage: Storage,
) -> None:
    with storage.transaction() as tx:
        tx.log.append([track("E", START, user="a"), track("E", START, user="b")])
        tx.profiles.save([ProfileState("b")])
        tx.profiles.link([("user", "b", "b")])
        second = tx.log.read_after(0, 10)[-1].seq
        tx.cursors.set("processor", second)
    with storage.transaction() as tx:
        tx.profiles.erase("b")
        tx.log.append([track("E", START, user="a", message_id="after")])
    with storage.snapshot() as tx:
        assert [e.event.message_id for e in tx.log.read_after(second, 10)] == ["after"], (
            "the processor, past the erased seq, still sees the new event"
        )
    with storage.transaction() as tx:
        tx.artefacts.record_erasure("x", START)
        [(first, _)] = tx.artefacts.erasures_after(0)
        tx.artefacts.forget_erasures(first)
        tx.artefacts.record_erasure("y", START)
        assert [i for i, _ in tx.artefacts.erasures_after(0)] > [first]


def test_an_event_keeps_the_flags_ingestion_gave_it(storage: Storage) -> None:
    flagged = replace(
        track("E", START, user="u1", message_id="f"),
        flags=(Flag("future_timestamp", "/timestamp", "set to its arrival"),),
    )
    with storage.transaction() as tx:
        tx.log.append([flagged, track("E", START, user="u1", message_id="plain")])
    with storage.snapshot() as tx:
        read = [e.event for e in tx.log.read_after(0, 10)]
    assert [e.flags for e in read] == [flagged.flags, ()]


def test_violations_are_counted_per_event_field_and_outcome(storage: Storage) -> None:
    later = START + timedelta(hours=1)
    storage.append(
        [[track("E", START, user="u1")]],
        [
            Violation("Order Completed", "/properties/revenue", True, START),
            Violation("Order Completed", "/properties/revenue", True, later),
            Violation("Order Completed", "/properties/revenue", False, START),
        ],
    )
    with storage.transaction() as tx:
        tx.violations.add(
            [
                Violation("Order Completed", "/properties/revenue", True, START),
                Violation("Signed Up", "/event", False, later),
            ]
        )
    counts = [(v.event, v.field, v.rejected, v.count) for v in storage.reads.violations()]
    assert counts == [
        ("Order Completed", "/properties/revenue", True, 3),
        ("Order Completed", "/properties/revenue", False, 1),
        ("Signed Up", "/event", False, 1),
    ]
    first = storage.reads.violations()[0]
    assert (first.first_seen, first.last_seen) == (START, later)
    with storage.snapshot() as tx:
        assert len(tx.log.read_after(0, 10)) == 1, "the batch was appended with its counts"


def test_the_read_model_counts_the_profiles_that_lack_a_value(storage: Storage) -> None:
    people = [
        ProfileState("a", traits={"first_name": "Ann", "address": {"city": "Leeds"}}),
        ProfileState("b", traits={"first_name": "", "address": {"city": None}}),
        ProfileState("c", traits={"first_name": None, "address": "somewhere"}),
        ProfileState("d", traits={"first_name": 0}, computed={"orders": 2}),
    ]
    with storage.transaction() as tx:
        tx.profiles.save(people)
    paths = [("traits", "first_name"), ("traits", "address", "city"), ("computed", "orders")]
    assert storage.reads.count_lacking(paths) == (4, [2, 3, 3])
    assert storage.reads.count_lacking([]) == (4, [])


def test_the_read_model_shows_the_newest_events_first(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.log.append([track("E", START, user="u1", message_id=f"m{i}") for i in range(5)])
    with storage.transaction() as tx:
        tx.profiles.save([ProfileState("u1")])
        tx.profiles.link([("user", "u1", "u1")])
        tx.profiles.erase("u1")  # the log may have holes; the newest are still the newest
        tx.log.append([track("E", START, user="u2", message_id=f"n{i}") for i in range(3)])
    newest = storage.reads.recent_events(2)
    assert [e.event.message_id for e in newest] == ["n2", "n1"]
    assert newest[0].seq > newest[1].seq
    assert [e.event.message_id for e in storage.reads.recent_events(10)] == ["n2", "n1", "n0"]


def test_the_read_model_counts_arrivals_per_interval(storage: Storage) -> None:
    minute = timedelta(minutes=1)
    arrived = [START - 2 * minute, START, START + 10 * minute / 60, START + 2 * minute]
    arrived += [START + 3 * minute + timedelta(seconds=59), START + 4 * minute]
    with storage.transaction() as tx:
        tx.log.append([replace(track("E", START, user="u"), received_at=at) for at in arrived])
    edges = [START + i * minute for i in range(5)]
    assert storage.reads.arrivals(edges) == [2, 0, 1, 1], "end edge excluded, before ignored"
    assert storage.reads.arrivals(edges[:1]) == []
    assert storage.reads.arrivals([START + 9 * minute, START + 10 * minute]) == [0]
