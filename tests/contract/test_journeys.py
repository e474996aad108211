"""The journey parts of storage on every adapter: versions, wake-ups after an edit, numbers
per step, schedules, the outbox history caps read, people's events, webhook calls."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import START
from factories import outbox_item, track

from pertinent.journeys.broadcasts import Broadcast, Recipient
from pertinent.journeys.caps import SentRecord
from pertinent.journeys.model import Instance
from pertinent.journeys.webhooks import Attempt, WebhookCall
from pertinent.profiles.state import ProfileState
from pertinent.segments.evaluate import PersonEvent
from pertinent.storage.ports import ConcurrentUpdate, Partition, StepNumber, Storage


def _waiting(key: str, step: str, version: int, **fields: object) -> Instance:
    values: dict[str, object] = {
        "journey_key": "welcome",
        "profile_id": "u1",
        "step": step,
        "status": "waiting",
        "started_at": START,
        "trigger": {},
        "wake_at": START + timedelta(days=2),
        "version": version,
        "step_at": START + timedelta(minutes=1),
        **fields,
    }
    return Instance(key, **values)  # type: ignore[arg-type]


def test_versions_are_kept_and_a_second_writer_of_one_version_conflicts(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.journeys.add_version("welcome", 1, "d1", {"key": "welcome", "steps": [1]}, START)
        tx.journeys.add_version("welcome", 2, "d2", {"key": "welcome"}, START)
    with pytest.raises(ConcurrentUpdate), storage.transaction() as tx:
        tx.journeys.add_version("welcome", 2, "d3", {}, START)
    with storage.snapshot() as tx:
        assert tx.journeys.versions() == [
            ("welcome", 1, "d1", {"key": "welcome", "steps": [1]}),
            ("welcome", 2, "d2", {"key": "welcome"}),
        ]


def test_an_edit_wakes_the_instances_it_moves_and_nothing_else(storage: Storage) -> None:
    moved = _waiting("a", "pause", 1)
    other_step = _waiting("b", "hello", 1, profile_id="u2")
    newer = _waiting("c", "pause", 2, profile_id="u3")
    with storage.transaction() as tx:
        tx.journeys.save([moved, other_step, newer])
        assert tx.journeys.wake("welcome", ["pause"], 2, START) == 1
    with storage.transaction() as tx:
        [due] = tx.journeys.claim_due(START, 10, Partition())
        assert due == replace(moved, wake_at=START)
        assert tx.journeys.wake("welcome", None, 3, START) == 3


def test_instances_keep_version_step_arrival_exit_and_goal(storage: Storage) -> None:
    ended = _waiting(
        "a",
        "tips",
        3,
        status="exited",
        wake_at=None,
        ended_at=START + timedelta(days=1),
        exit_reason="merged",
        goal_at=START + timedelta(hours=5),
    )
    with storage.transaction() as tx:
        tx.journeys.save([ended, _waiting("b", "pause", 1, started_at=START - timedelta(days=9))])
    with storage.snapshot() as tx:
        assert tx.journeys.ended_since({"u1"}, START - timedelta(days=1)) == [ended]
        assert tx.journeys.ended_since({"u1"}, START + timedelta(seconds=1)) == []
        assert tx.journeys.last_entered(["welcome"], ["u1"]) == {("welcome", "u1"): START}


def test_numbers_per_step_add_up_and_waiting_is_counted_live(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.journeys.count(
            {("welcome", 1, "hello", "sent"): 2, ("welcome", 1, "hello", "capped"): 1}
        )
        tx.journeys.save([_waiting("a", "pause", 1), _waiting("b", "pause", 1, profile_id="u2")])
    with storage.transaction() as tx:
        tx.journeys.count({("welcome", 1, "hello", "sent"): 3})
    assert storage.reads.journey_numbers() == [
        StepNumber("welcome", 1, "hello", "capped", 1),
        StepNumber("welcome", 1, "hello", "sent", 5),
        StepNumber("welcome", 1, "pause", "waiting", 2),
    ]


def test_schedules_are_set_moved_and_dropped(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.journeys.set_schedule("digest@processor", START)
        tx.journeys.set_schedule("digest@processor", START + timedelta(days=7))
        tx.journeys.set_schedule("gone@processor", START)
        tx.journeys.set_schedule("gone@processor", None)
    with storage.snapshot() as tx:
        assert tx.journeys.schedules() == {"digest@processor": START + timedelta(days=7)}


def test_the_outbox_history_says_what_caps_count(storage: Storage) -> None:
    meta = {"step": "hello", "version": 1, "category": "marketing"}
    with storage.transaction() as tx:
        tx.outbox.enqueue(
            [
                outbox_item("k1", "m1", START, journey_key="welcome", meta=meta),
                outbox_item("k2", "m2", START + timedelta(hours=1), meta={"broadcast": 7}),
                outbox_item("k3", "m3", START, error="template error"),
                outbox_item("k4", "m4", START, profile_id="u2"),
                outbox_item("k5", "m5", START - timedelta(days=9)),
            ]
        )
    with storage.snapshot() as tx:
        found = tx.outbox.history({"u1"}, START - timedelta(days=1))
    assert found == [
        SentRecord("u1", START, "marketing", "welcome", "hello"),
        SentRecord("u1", START + timedelta(hours=1), "marketing", None, None, 7),
    ]


def test_events_of_people_come_by_action_oldest_first(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.log.append(
            [
                track("Viewed", START + timedelta(hours=2), user="u1", sku="B"),
                track("Viewed", START, user="u1", sku="A"),
                track("Ordered", START, user="u1"),
                track("Viewed", START, user="u2"),
            ]
        )
        logged = tx.log.read_after(0, 10)
        tx.profiles.record(
            [
                (e.seq, e.event.user_id or "", e.event.name, e.event.timestamp, e.event.properties)
                for e in logged
            ]
        )
    with storage.snapshot() as tx:
        assert tx.profiles.events_of({"u1"}, ["Viewed"]) == {
            "u1": [
                PersonEvent("Viewed", START, {"sku": "A"}),
                PersonEvent("Viewed", START + timedelta(hours=2), {"sku": "B"}),
            ]
        }


def _call(key: str, **fields: object) -> WebhookCall:
    values: dict[str, object] = {
        "journey_key": "welcome",
        "step": "crm",
        "profile_id": "u1",
        "url": "http://127.0.0.1:1/hook",
        "body": '{"a": 1}',
        "created_at": START,
        "headers": {"X-Team": "crm"},
        **fields,
    }
    return WebhookCall(key, **values)  # type: ignore[arg-type]


def test_webhook_calls_are_enqueued_once_claimed_retried_and_logged(storage: Storage) -> None:
    lease = timedelta(minutes=5)
    with storage.transaction() as tx:
        assert tx.webhooks.enqueue([_call("w1"), _call("w1"), _call("w2", journey_key="cart")]) == 2
    with storage.transaction() as tx:
        assert tx.webhooks.next_due() == START
        claimed = tx.webhooks.claim(START, lease, 1, "host/sender-0")
        assert [(c.attempts, c.call) for c in claimed] == [(0, _call("w1"))]
        assert tx.webhooks.claim(START, lease, 10, "other") != claimed
    first = Attempt(claimed[0].id, 1, START, 500, "HTTP 500", 12)
    with storage.transaction() as tx:
        tx.webhooks.record(first, "pending", START + timedelta(seconds=30))
        assert tx.webhooks.claim(START + timedelta(seconds=10), lease, 10, "x") == []
    second = Attempt(claimed[0].id, 2, START + timedelta(seconds=30), 204, None, 3)
    with storage.transaction() as tx:
        [again] = tx.webhooks.claim(START + timedelta(seconds=30), lease, 10, "x")
        assert again.attempts == 1
        tx.webhooks.record(second, "delivered", None)
    [delivery] = storage.reads.webhook_deliveries("welcome", 10)
    assert (delivery.status, delivery.call) == ("delivered", _call("w1"))
    assert delivery.attempts == [second, first]
    assert [d.call.idempotency_key for d in storage.reads.webhook_deliveries(None, 10)] == [
        "w2",
        "w1",
    ]


def _broadcast(**fields: object) -> Broadcast:
    values: dict[str, object] = {
        "id": 0,
        "name": "March news",
        "template": "news",
        "segment": "readers",
        "send_at": START,
        "local_time": False,
        "per_hour": None,
        "status": "scheduled",
        "created_at": START,
        **fields,
    }
    return Broadcast(**values)  # type: ignore[arg-type]


def test_broadcasts_are_due_targeted_once_per_person_claimed_and_recorded(
    storage: Storage,
) -> None:
    with storage.transaction() as tx:
        now_id = tx.broadcasts.add(_broadcast())
        later_id = tx.broadcasts.add(_broadcast(send_at=START + timedelta(days=1)))
        local_id = tx.broadcasts.add(
            _broadcast(send_at=START + timedelta(hours=10), local_time=True)
        )
    with storage.snapshot() as tx:
        assert [b.id for b in tx.broadcasts.due(START, timedelta(hours=14))] == [now_id, local_id]
        assert tx.broadcasts.get([later_id])[later_id].send_at == START + timedelta(days=1)
    people = [Recipient(now_id, f"u{i}", START + timedelta(minutes=i)) for i in range(3)]
    with storage.transaction() as tx:
        tx.broadcasts.target(now_id, [*people, people[0]])
        tx.broadcasts.target(now_id, people[:1])  # a replay adds nobody twice
    everything = Partition()
    with storage.transaction() as tx:
        assert tx.broadcasts.get([now_id])[now_id].status == "sending"
        assert tx.broadcasts.get([now_id])[now_id].targeted == 3
        assert tx.broadcasts.next_due(everything) == START
        claimed = tx.broadcasts.claim_due(START + timedelta(minutes=1), 10, everything)
        assert claimed == people[:2]
        tx.broadcasts.record([(people[0], "sent")])
        tx.broadcasts.delay([Recipient(now_id, "u1", START + timedelta(hours=9))])
    with storage.transaction() as tx:
        assert tx.broadcasts.claim_due(START + timedelta(hours=1), 10, everything) == [people[2]]
        tx.broadcasts.record([(people[2], "capped")])
    numbers = storage.reads.broadcast_numbers(now_id)
    assert numbers is not None
    assert (numbers.outcomes, numbers.pending, numbers.status) == (
        {"sent": 1, "capped": 1},
        1,
        "sending",
    )
    assert [b.id for b in storage.reads.broadcasts(10)] == [local_id, later_id, now_id]
    assert storage.reads.broadcast_numbers(999) is None


def test_a_merge_leaves_one_recipient_row_per_person_and_broadcast(storage: Storage) -> None:
    with storage.transaction() as tx:
        first = tx.broadcasts.add(_broadcast())
        second = tx.broadcasts.add(_broadcast())
        tx.profiles.save([ProfileState("anon:a"), ProfileState("u1")])
        tx.broadcasts.target(
            first, [Recipient(first, "anon:a", START), Recipient(first, "u1", START)]
        )
        tx.broadcasts.target(second, [Recipient(second, "anon:a", START)])
    with storage.transaction() as tx:
        tx.profiles.merge("anon:a", "u1", 1)
    with storage.snapshot() as tx:
        claimed = tx.broadcasts.claim_due(START, 10, Partition())
    assert sorted((r.broadcast_id, r.profile_id) for r in claimed) == [
        (first, "u1"),
        (second, "u1"),
    ]
