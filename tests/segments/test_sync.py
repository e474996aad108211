"""Definitions in the store: a new segment fills at once, a changed one is re-evaluated and
versioned, a removed one empties and stops counting; history, members at an instant and a
preview, on every adapter."""

from __future__ import annotations

from datetime import timedelta

from conftest import START
from factories import identify, processor, track

from pertinent.clock import SimClock
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.guard import segments_in_use, undersized
from pertinent.segments.language import SegmentDefinition
from pertinent.segments.preview import preview
from pertinent.segments.sync import sync_definitions
from pertinent.storage.ports import Storage

NYC = {"type": "trait", "trait": "city", "value": "NYC"}
BUYERS = {"type": "performed", "event": "Order Completed"}


def _segment(key: str, condition: dict[str, object]) -> SegmentDefinition:
    return SegmentDefinition.model_validate({"key": key, "condition": condition})


def _members(storage: Storage, key: str) -> set[str]:
    with storage.snapshot() as tx:
        return tx.segments.current(None).get(key, set())


def test_new_changed_and_removed_segments(storage: Storage) -> None:
    clock = SimClock(START)
    shop = processor(storage, clock)  # no segments yet: people act before any is defined
    with storage.transaction() as tx:
        tx.log.append(
            [
                identify(START, user="a", city="NYC"),
                identify(START, user="b", city="Paris"),
                track("Order Completed", START, user="b"),
            ]
        )
    shop.run_until_idle()

    first = sync_definitions(storage, SegmentSet([_segment("nyc", NYC)]), START)
    assert [(c.key, c.change, c.version, c.entered, c.size) for c in first] == [
        ("nyc", "added", 1, 1, 1)
    ]
    assert _members(storage, "nyc") == {"a"}, "filled at once, without new events"

    clock.advance(timedelta(hours=1))
    again = sync_definitions(storage, SegmentSet([_segment("nyc", NYC)]), clock.now())
    assert [(c.change, c.version) for c in again] == [("unchanged", 1)]

    paris = _segment("nyc", {**NYC, "value": "Paris"})
    changed = sync_definitions(
        storage, SegmentSet([paris, _segment("buyers", BUYERS)]), clock.now()
    )
    assert {(c.key, c.change, c.version, c.entered, c.exited) for c in changed} == {
        ("nyc", "changed", 2, 1, 1),
        ("buyers", "added", 1, 1, 0),
    }
    assert _members(storage, "nyc") == {"b"}

    clock.advance(timedelta(hours=1))
    removed = sync_definitions(storage, SegmentSet([_segment("buyers", BUYERS)]), clock.now())
    assert ("nyc", "removed", 0, 1) in {(c.key, c.change, c.size, c.exited) for c in removed}
    assert "nyc" not in storage.reads.status().segments, "a removed segment stops counting"
    with storage.snapshot() as tx:
        saved = tx.segments.versions("nyc")
        assert [v.version for v in saved] == [1, 2]
        assert saved[-1].removed_at == clock.now()
        assert saved[0].definition["condition"]["value"] == "NYC"
        logged = [e.event for e in tx.log.read_after(0, 100)]
    entered = [e.properties for e in logged if e.name == "segment_entered"]
    assert {"segment": "nyc", "backfill": True} in entered
    assert {"segment": "nyc", "removed": True} in [
        e.properties for e in logged if e.name == "segment_exited"
    ]

    # History: who was in at each instant, and the size over time.
    reads = storage.reads
    assert [m.profile_id for m in reads.members_at("nyc", START, 10, 0)] == ["a"]
    middle = START + timedelta(minutes=90)
    assert [m.profile_id for m in reads.members_at("nyc", middle, 10, 0)] == ["b"]
    points = [START - timedelta(minutes=1), START, middle, clock.now()]
    assert reads.segment_history("nyc", points) == [0, 1, 1, 0]


def test_a_preview_counts_and_samples_without_saving(storage: Storage) -> None:
    clock = SimClock(START)
    with storage.transaction() as tx:
        tx.log.append([identify(START, user=f"u{i}", city="NYC") for i in range(25)])
    processor(storage, clock).run_until_idle()
    segments = SegmentSet([_segment("nyc", NYC)])
    condition = SegmentDefinition.model_validate({"key": "x", "condition": NYC}).condition
    found = preview(storage, segments, condition, START)
    assert found.size == 25
    assert [p["profile_id"] for p in found.sample] == sorted(f"u{i}" for i in range(25))[:20]
    assert found.sample[0]["traits"] == {"city": "NYC"}
    with storage.snapshot() as tx:
        assert tx.segments.definitions() == {}, "nothing saved"


def test_segments_in_use_that_are_too_small_are_warned_about() -> None:
    journey = SegmentDefinition.model_validate(
        {"key": "j", "condition": {"type": "in_segment", "segment": "vip"}}
    )
    in_use = segments_in_use([("journey j", journey)])
    assert in_use == {"vip": ["journey j"]}
    [warning] = undersized({"vip": 12, "other": 3}, in_use, 100)
    assert (warning.segment, warning.size) == ("vip", 12)
    assert "fewer than 100" in str(warning)
    assert undersized({"vip": 100}, in_use, 100) == []
