"""Whatever a client sends to the ingestion endpoints, the answer is never a 500, and the
good events beside the bad ones are kept (property-based: arbitrary JSON, dates at and past
the ends of the calendar, nesting hundreds of levels deep, NUL characters)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import httpx
import pytest
from apitools import WRITE_KEY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pertinent.app import System

AUTH = (WRITE_KEY, "")
TYPES = ["track", "identify", "page", "screen", "group", "alias"]

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _nest(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value} if levels % 2 else [value]
    return value


deep = st.integers(1, 400).map(_nest)
edge_dates = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+05:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T23:59:59-05:00",
        "2031-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2026-03-02T09:00:00+14:00",
        "yesterday",
        "",
    ]
)
dates = (
    edge_dates
    | edge_dates
    | st.datetimes().map(lambda d: d.isoformat())
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | values
)
texts = st.text(max_size=40) | st.text(max_size=600) | st.just("a\x00b") | values
HOSTILE_FIELDS = {
    "type": st.sampled_from(TYPES) | values,
    "event": texts,
    "name": texts,
    "userId": texts,
    "anonymousId": texts,
    "previousId": texts,
    "groupId": texts,
    "messageId": texts,
    "timestamp": dates,
    "originalTimestamp": dates,
    "sentAt": dates,
    "properties": values | deep,
    "traits": values | deep,
    "context": values
    | deep
    | st.fixed_dictionaries({"userAgent": texts, "page": values, "traits": values}),
}


def _call(kind: str) -> dict[str, Any]:
    """A valid call of `kind`, for hostile fields to be put into."""
    return {"type": kind, "event": "E", "userId": "u1", "previousId": "p", "groupId": "g"}


def _merge(base: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
    for change in changes:
        base = {**base, **change}
    return base


one_change = st.sampled_from(sorted(HOSTILE_FIELDS)).flatmap(
    lambda key: HOSTILE_FIELDS[key].map(lambda value: {key: value})
)
# A valid call with one to three fields replaced, so that each hostile value gets past the
# checks before its own.
hostile = st.builds(
    _merge, st.sampled_from(TYPES).map(_call), st.lists(one_change, min_size=1, max_size=3)
)
# A valid call with hostile times, the values most likely to overflow date arithmetic.
timed = st.builds(
    lambda base, stamp, sent: {**base, "timestamp": stamp, **({"sentAt": sent} if sent else {})},
    st.sampled_from(TYPES).map(_call),
    dates,
    st.none() | dates,
)
events = hostile | timed | values


def _json(value: Any) -> bytes:
    """The standard library's encoder: orjson's stops at 254 levels, and these go deeper."""
    return json.dumps(value, allow_nan=False).encode()


def _good() -> dict[str, Any]:
    return {"type": "track", "event": "Good", "userId": "u1", "messageId": uuid.uuid4().hex}


def _logged(system: System) -> set[str]:
    with system.storage.snapshot() as tx:
        return {e.event.message_id for e in tx.log.read_after(0, 100_000)}


fuzz = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.slow
@fuzz
@given(batch=st.lists(events, max_size=6), sent_at=st.none() | dates)
def test_a_batch_of_anything_is_answered_and_keeps_its_good_events(
    base_url: str, system: System, batch: list[Any], sent_at: Any
) -> None:
    good = _good()
    body = {"batch": [good, *batch], **({"sentAt": sent_at} if sent_at is not None else {})}
    answer = httpx.post(f"{base_url}/v1/batch", content=_json(body), auth=AUTH)

    if answer.status_code == 400:  # only for the request as a whole: the body is too big
        assert "limit" in answer.json()["error"]
        return
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["accepted"] + result["duplicates"] + len(result["rejected"]) == len(batch) + 1
    assert good["messageId"] in _logged(system)


@pytest.mark.slow
@fuzz
@given(event=events, kind=st.sampled_from(TYPES))
def test_a_single_call_of_anything_is_answered(base_url: str, kind: str, event: Any) -> None:
    answer = httpx.post(f"{base_url}/v1/{kind}", content=_json(event), auth=AUTH)
    assert answer.status_code in (200, 400), answer.text


@pytest.mark.slow
@fuzz
@given(event=hostile, kind=st.sampled_from(["track", "page", "identify"]))
def test_the_pixel_answers_anything(base_url: str, kind: str, event: dict[str, Any]) -> None:
    data = base64.b64encode(_json({**event, "writeKey": WRITE_KEY})).decode()
    answer = httpx.get(f"{base_url}/v1/pixel/{kind}", params={"data": data})
    assert answer.status_code in (200, 400), answer.text
