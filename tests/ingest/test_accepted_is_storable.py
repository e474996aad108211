"""Whatever validation accepts, every store can keep and give back unchanged: an event that
passed would otherwise fail its whole batch at the database (a NUL in PostgreSQL text, a name
longer than its column), and the client would get a 500 for it."""

from __future__ import annotations

from typing import Any

import orjson
from conftest import START
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pertinent.clock import SimClock
from pertinent.events.model import Event
from pertinent.ingest.pipeline import Ingestor, prepare
from pertinent.storage.ports import Storage

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)
names = st.text(min_size=1, max_size=600)
calls = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["track", "page", "screen", "identify", "group"]),
        "userId": names,
        "event": names,
        "name": names,
        "groupId": names,
        "properties": st.dictionaries(st.text(), values, max_size=4),
        "traits": st.dictionaries(st.text(), values, max_size=4),
        "context": st.dictionaries(st.text(), values, max_size=3),
    }
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(calls, min_size=1, max_size=5))
def test_every_accepted_event_is_stored_and_read_back_as_it_was(
    storage: Storage, batch: list[dict[str, Any]]
) -> None:
    prepared = prepare(batch, received_at=START)
    ingestor = Ingestor(storage, SimClock(START))
    try:
        result = ingestor.ingest(batch)
    finally:
        ingestor.close()

    assert len(result.rejections) == len(prepared.rejections)
    with storage.snapshot() as tx:
        kept = {_content(e.event) for e in tx.log.read_after(0, 100_000)}
    for event in prepared.events:
        assert _content(event) in kept, f"accepted but not stored as it was: {event}"


def _numbers_as_floats(value: Any) -> Any:
    """JSON as equal numbers compare: PostgreSQL's jsonb gives 5.5e16 back as 55000000000000000,
    and -0.0 as 0 (its numeric type has no negative zero)."""
    if isinstance(value, dict):
        return {k: _numbers_as_floats(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_numbers_as_floats(v) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) + 0.0  # -0.0 + 0.0 is 0.0
    return value


def _content(event: Event) -> bytes:
    """What a call said (message ids are drawn per call, so they are left out)."""
    fields = (event.type, event.name, event.user_id, event.properties, event.traits, event.context)
    return orjson.dumps(_numbers_as_floats(fields), option=orjson.OPT_SORT_KEYS)
