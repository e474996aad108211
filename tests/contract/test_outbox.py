"""The outbox and suppression contract: every adapter (in memory, SQLite, PostgreSQL) queues,
claims, defers and finds emails, and answers for suppressed addresses, the same way."""

from __future__ import annotations

from datetime import timedelta

from conftest import START
from factories import outbox_item

from pertinent.delivery.outbox import OutboxItem
from pertinent.storage.ports import Storage


def _item(key: str, message_id: str, **fields: object) -> OutboxItem:
    return outbox_item(key, message_id, START, journey_key="cart", meta={"step": 1}, **fields)


def test_outbox_enqueues_an_idempotency_key_once(storage: Storage) -> None:
    with storage.transaction() as tx:
        assert tx.outbox.next_due() is None
        assert tx.outbox.enqueue([_item("1:1", "m1")]) == 1
        assert tx.outbox.enqueue([_item("1:1", "m2")]) == 0
        assert tx.outbox.next_due() == START
    lease = timedelta(minutes=5)
    with storage.transaction() as tx:
        due = tx.outbox.claim(START, lease, 10, "s1")
        assert [d.item.message_id for d in due] == ["m1"]
        assert due[0].item == _item("1:1", "m1")
        assert tx.outbox.claim(START, lease, 10, "s2") == [], (
            "a claimed row is not handed out twice"
        )
        tx.outbox.mark_retry(due[0].id, START + timedelta(minutes=1), "busy")
    with storage.transaction() as tx:
        assert tx.outbox.next_due() == START + timedelta(minutes=1)
        assert tx.outbox.claim(START, lease, 10, "s1") == []
        due = tx.outbox.claim(START + timedelta(minutes=1), lease, 10, "s1")
        assert due[0].attempts == 1
        tx.outbox.mark_sent(due[0].id, START)
    with storage.transaction() as tx:
        assert tx.outbox.claim(START + timedelta(days=1), lease, 10, "s1") == []
        found = tx.outbox.get("m1")
        assert found is not None and found[1] == "sent"
    [email] = storage.reads.emails(10)
    assert (email.item.message_id, email.status, email.sent_at) == ("m1", "sent", START)
    assert storage.reads.status().outbox == {"sent": 1}


def test_an_email_that_could_not_be_built_is_stored_failed_with_its_reason(
    storage: Storage,
) -> None:
    with storage.transaction() as tx:
        tx.outbox.enqueue([_item("3:1", "m3", error="template error: line 2"), _item("4:1", "m4")])
    with storage.transaction() as tx:
        assert [
            d.item.message_id for d in tx.outbox.claim(START, timedelta(minutes=5), 10, "s")
        ] == ["m4"]
    found = storage.reads.email("m3")
    assert found is not None
    assert (found.status, found.last_error, found.item.error) == (
        "failed",
        "template error: line 2",
        "template error: line 2",
    )


def test_a_claim_whose_sender_died_is_retried_after_the_lease(storage: Storage) -> None:
    lease = timedelta(minutes=5)
    with storage.transaction() as tx:
        tx.outbox.enqueue([_item("2:1", "m9")])
        assert len(tx.outbox.claim(START, lease, 10, "dead")) == 1
    with storage.transaction() as tx:
        assert tx.outbox.claim(START + timedelta(minutes=4), lease, 10, "other") == []
        assert len(tx.outbox.claim(START + lease, lease, 10, "other")) == 1


def test_a_restarted_sender_takes_back_its_own_rows_at_once(storage: Storage) -> None:
    lease = timedelta(minutes=5)
    with storage.transaction() as tx:
        tx.outbox.enqueue([_item("5:1", "m5"), _item("6:1", "m6")])
        assert len(tx.outbox.claim(START, lease, 1, "host/sender-0")) == 1
        assert len(tx.outbox.claim(START, lease, 1, "host/sender-1")) == 1
    with storage.transaction() as tx:
        assert tx.outbox.release("host/sender-0", START) == 1
        again = tx.outbox.claim(START, lease, 10, "host/sender-0")
    assert len(again) == 1, "its own row, not the other sender's"


def test_suppressions_ignore_case_and_answer_as_asked(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.suppressions.add(" A@Example.com ", "u1", "unsubscribed", START)
        tx.suppressions.add("a@example.com", "u1", "unsubscribed", START)
    with storage.snapshot() as tx:
        assert tx.suppressions.suppressed(["a@EXAMPLE.com", "b@example.com"]) == {"a@EXAMPLE.com"}
        assert tx.suppressions.suppressed([]) == set()


def test_a_deferred_email_is_due_again_later_and_no_attempt_is_counted(storage: Storage) -> None:
    lease, later = timedelta(minutes=5), START + timedelta(seconds=3)
    with storage.transaction() as tx:
        tx.outbox.enqueue([_item("7:1", "m7")])
        [claimed] = tx.outbox.claim(START, lease, 10, "s")
        tx.outbox.defer(claimed.id, later)
    with storage.transaction() as tx:
        assert tx.outbox.next_due() == later
        assert tx.outbox.claim(START + timedelta(seconds=2), lease, 10, "s") == []
        [again] = tx.outbox.claim(later, lease, 10, "other")
    assert again.attempts == 0, "a rate limit is not a failed attempt"


def test_the_newest_email_to_an_address_is_found_by_the_address(storage: Storage) -> None:
    with storage.transaction() as tx:
        tx.outbox.enqueue(
            [
                outbox_item("a:1", "old", START, profile_id="u1", to_address="a@example.com"),
                outbox_item(
                    "a:2",
                    "new",
                    START + timedelta(hours=1),
                    profile_id="u2",
                    to_address="a@example.com",
                ),
                outbox_item("b:1", "b", START, to_address="b@example.com"),
            ]
        )
    with storage.snapshot() as tx:
        newest = tx.outbox.latest_to("a@example.com")
        assert newest is not None and (newest.message_id, newest.profile_id) == ("new", "u2")
        assert tx.outbox.latest_to("nobody@example.com") is None


def test_an_address_keeps_each_reason_and_a_hard_bounce_speaks_for_it(
    storage: Storage,
) -> None:
    with storage.transaction() as tx:
        tx.suppressions.add("a@example.com", "u1", "unsubscribed", START)
        tx.suppressions.add("A@example.com", "u1", "bounced", START)
        tx.suppressions.add("c@example.com", "u3", "complained", START)
        tx.suppressions.add("c@example.com", "u3", "complained", START)
    with storage.snapshot() as tx:
        asked = ["a@example.com", "B@example.com", "c@example.com"]
        assert tx.suppressions.suppressed(asked) == {"a@example.com", "c@example.com"}
        assert tx.suppressions.reasons(asked) == {
            "a@example.com": "bounced",
            "c@example.com": "complained",
        }, "the bounce is known although the address had unsubscribed first"
        assert tx.suppressions.reasons(["A@EXAMPLE.COM"]) == {"A@EXAMPLE.COM": "bounced"}
        assert tx.suppressions.reasons([]) == {}
    with storage.transaction() as tx:
        assert tx.suppressions.lift("a@example.com", "unsubscribed")
        assert not tx.suppressions.lift("c@example.com", "unsubscribed"), "not its reason"
    with storage.snapshot() as tx:
        assert tx.suppressions.reasons(["a@example.com"]) == {"a@example.com": "bounced"}, (
            "an opt-in lifts the unsubscribe, never the bounce"
        )
