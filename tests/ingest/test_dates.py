"""When events happened: clock skew corrected, times out of range rejected per event, times
in the future set to their arrival and flagged, and the good events of a batch kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from conftest import START
from hypothesis import given
from hypothesis import strategies as st

from pertinent.ingest.pipeline import Rules, prepare


def _track(n: int, **fields: object) -> dict[str, object]:
    return {"type": "track", "event": "E", "userId": "u1", "messageId": f"m{n}", **fields}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"timestamp": "0001-01-01T00:00:00Z"}, "timestamp"),
        ({"timestamp": "0001-01-01T00:00:00+05:00"}, "timestamp"),  # no UTC form at all
        ({"timestamp": "9999-12-31T23:59:59Z"}, "timestamp"),
        ({"timestamp": "9999-12-31T23:59:59-05:00"}, "timestamp"),
        ({"originalTimestamp": "1969-12-31T23:59:59Z"}, "originalTimestamp"),
        ({"timestamp": "2026-03-02T09:00:00Z", "sentAt": "0001-01-01T00:00:00Z"}, "sentAt"),
        ({"timestamp": "0001-01-01T00:00:00Z", "sentAt": "0001-01-01T00:01:00Z"}, "timestamp"),
        ({"timestamp": "9999-12-31T00:00:00Z", "sentAt": "9999-12-31T00:01:00Z"}, "timestamp"),
        # In range, but the correction for the client's clock moves it to 1897.
        ({"timestamp": "1970-01-02T00:00:00Z", "sentAt": "2099-01-01T00:00:00Z"}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": 1e20}, "timestamp"),
    ],
)
def test_a_time_out_of_range_rejects_its_event_and_keeps_the_others(
    fields: dict[str, object], field: str
) -> None:
    prepared = prepare([_track(0), _track(1, **fields), _track(2)], received_at=START)

    assert [e.message_id for e in prepared.events] == ["m0", "m2"]
    [rejection] = prepared.rejections
    assert (rejection.index, rejection.field) == (1, field)


def test_the_range_is_named_in_the_reason() -> None:
    prepared = prepare([_track(0, timestamp="9999-12-31T23:59:59Z")], received_at=START)
    assert prepared.rejections[0].reason == (
        "9999-12-31T23:59:59+00:00 is out of range; "
        "times must fall between 1970-01-01 and 2099-12-31 (UTC)"
    )


def test_a_batch_sent_at_that_is_not_a_time_rejects_only_the_events_it_would_correct() -> None:
    batch = [
        _track(0, timestamp="2026-03-02T08:00:00Z"),
        _track(1),  # no time of its own: it happened on arrival
        _track(2, timestamp="2026-03-02T08:00:00Z", sentAt="2026-03-02T08:00:01Z"),
    ]
    for sent in ("never", "9999-12-31T23:59:59Z"):
        prepared = prepare(batch, received_at=START, batch_sent_at=sent)
        assert [e.message_id for e in prepared.events] == ["m1", "m2"]
        assert [(r.index, r.field) for r in prepared.rejections] == [(0, "sentAt")]


def test_a_time_in_the_future_is_set_to_the_arrival_and_flagged() -> None:
    # The Product Added a phone stamped 2031: kept in "the last 24 hours" until 2031.
    batch = [
        _track(0, timestamp="2031-06-01T12:00:00Z"),
        _track(1, timestamp=(START + timedelta(hours=23)).isoformat()),
    ]
    prepared = prepare(batch, received_at=START)

    future, tolerated = prepared.events
    assert future.timestamp == START
    assert [(f.kind, f.field) for f in future.flags] == [("future_timestamp", "/timestamp")]
    assert "set to its arrival" in future.flags[0].reason
    assert (tolerated.timestamp, tolerated.flags) == (START + timedelta(hours=23), ())
    assert [(f.index, f.kind) for f in prepared.flagged] == [(0, "future_timestamp")]


def test_the_tolerance_for_the_future_is_a_setting() -> None:
    an_hour_ahead = _track(0, timestamp=(START + timedelta(hours=1)).isoformat())
    strict = Rules(max_ahead=timedelta(minutes=5))
    [event] = prepare([an_hour_ahead], received_at=START, rules=strict).events
    assert (event.timestamp, [f.kind for f in event.flags]) == (START, ["future_timestamp"])


def test_a_future_time_is_judged_after_the_clock_skew_is_corrected() -> None:
    # The phone's clock is 3 days fast: its events are not in the future once corrected.
    ahead = START + timedelta(days=3)
    raw = _track(0, timestamp=ahead.isoformat(), sentAt=(ahead + timedelta(seconds=5)).isoformat())
    [event] = prepare([raw], received_at=START).events
    assert (event.timestamp, event.flags) == (START - timedelta(seconds=5), ())


# Hypothesis takes naive bounds and adds the zone itself.
times = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.just(UTC),
)


@given(stamp=times, sent=st.none() | times, offset=st.integers(-14 * 60, 14 * 60))
def test_any_time_is_kept_in_range_or_rejected_alone(
    stamp: datetime, sent: datetime | None, offset: int
) -> None:
    zone = f"{'+' if offset >= 0 else '-'}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    fields = {"timestamp": stamp.isoformat().replace("+00:00", zone)}
    if sent is not None:
        fields["sentAt"] = sent.isoformat()
    prepared = prepare([_track(0, **fields), _track(1)], received_at=START)

    assert prepared.events[-1].message_id == "m1"
    if len(prepared.events) == 2:
        when = prepared.events[0].timestamp
        assert datetime(1970, 1, 1, tzinfo=UTC) <= when <= START + timedelta(hours=24)
    else:
        assert [r.index for r in prepared.rejections] == [0]
