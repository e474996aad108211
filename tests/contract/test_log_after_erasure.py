"""The log never hands a sequence number out twice, so erasing the newest events loses no
event appended after them: on every adapter, the processor folds what comes next."""

from __future__ import annotations

from datetime import timedelta

from conftest import START
from factories import identify, processor, track

from pertinent.clock import SimClock
from pertinent.segments.language import SegmentDefinition
from pertinent.storage.ports import Storage

VIEWERS = SegmentDefinition.model_validate(
    {"key": "viewers", "condition": {"type": "performed", "event": "Product Viewed"}}
)


def test_events_appended_after_the_newest_were_erased_are_all_processed(
    storage: Storage,
) -> None:
    clock = SimClock(START)
    folding = processor(storage, clock, [VIEWERS])
    with storage.transaction() as tx:
        tx.log.append(
            [
                identify(START, user="a", email="a@example.com"),
                identify(START, user="b", email="b@example.com"),
                track("Product Viewed", START, user="b"),
            ]
        )
    folding.run_until_idle()
    with storage.transaction() as tx:
        # b's identify, view and segment entry: the newest events in the log.
        assert tx.profiles.erase("b") == 3
    clock.advance(timedelta(minutes=5))
    with storage.transaction() as tx:
        tx.log.append(
            [
                track("Product Viewed", clock.now(), user="a"),
                track("Order Completed", clock.now(), user="a"),
            ]
        )

    folding.run_until_idle()

    with storage.snapshot() as tx:
        a = tx.profiles.load(["a"])["a"]
        assert tx.profiles.load(["b"]) == {}
        assert tx.segments.current(None) == {"viewers": {"a"}}
    counts = a.computed["event_counts"]
    assert (counts["Product Viewed"], counts["Order Completed"]) == (1, 1)
    status = storage.reads.status()
    assert (status.lag, status.processed_seq) == (0, status.log_seq)
