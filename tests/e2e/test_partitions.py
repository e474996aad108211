"""Two processor processes sharing a PostgreSQL log by partition end where one processor ends:
the same profiles, segment members, journey instances and outbox rows."""

from __future__ import annotations

import random
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import POSTGRES_URL, fresh_pg_schema
from serve_process import start_pertinent, stop_pertinent, wait_for, write_workspace
from sqlalchemy import text

from pertinent.app import build_system
from pertinent.clock import WallClock
from pertinent.config import load_workspace
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage

PEOPLE = [f"p{i:02d}" for i in range(50)]
CATEGORIES = ["Electronics", "Kitchen", "Garden"]


def _events(seed: int = 5) -> dict[str, list[dict[str, Any]]]:
    """Each person's events in their order, minutes apart in the last hours (so no journey
    wait, 1 h or more from processing, falls due during the test)."""
    rng = random.Random(seed)
    at = WallClock().now() - timedelta(hours=3)  # the processors run on the wall clock
    out: dict[str, list[dict[str, Any]]] = {}

    def event(user: str, **fields: Any) -> dict[str, Any]:
        nonlocal at
        at += timedelta(seconds=17)
        return {
            "messageId": uuid.uuid4().hex,
            "userId": user,
            "timestamp": at.isoformat(),
            **fields,
        }

    for user in PEOPLE:
        traits = {"email": f"{user}@example.com", "first_name": user.upper(), "plan": "free"}
        mine = [event(user, type="identify", traits=traits)]
        if rng.random() < 0.5:
            mine.append(event(user, type="track", event="Signed Up"))
        for _ in range(rng.randint(1, 6)):
            category = rng.choice(CATEGORIES)
            product = {"product_id": f"{category[:2]}{rng.randint(1, 9)}", "category": category}
            mine.append(event(user, type="track", event="Product Viewed", properties=product))
        if rng.random() < 0.6:
            added = {"product_id": "Ki1", "category": "Kitchen", "price": 39}
            mine.append(event(user, type="track", event="Product Added", properties=added))
        if rng.random() < 0.4:
            order = {"order_id": f"o-{user}", "revenue": rng.choice([45, 120, 260, 410])}
            mine.append(event(user, type="track", event="Order Completed", properties=order))
        if rng.random() < 0.3:
            mine.append(event(user, type="identify", traits={"plan": "pro"}))
        out[user] = mine
    return out


def _url(schema: str) -> str:
    """The database URL a subprocess gets: psycopg's libpq options set the search_path."""
    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"


@pytest.fixture
def reference_schema() -> Iterator[str]:
    with fresh_pg_schema() as schema:
        yield schema


def _ingest(root: Path, schema: str, batches: list[list[dict[str, Any]]]) -> None:
    system = build_system(load_workspace(root), database_url=POSTGRES_URL, schema=schema)
    try:
        for batch in batches:
            assert system.ingestor.ingest(batch).rejections == []
    finally:
        system.close()


def _storage(schema: str) -> SqlStorage:
    return SqlStorage(Database(POSTGRES_URL, schema=schema))


def _drained(schema: str) -> bool:
    """Lag 0 on two looks in a row, with no new event in between."""
    storage = _storage(schema)
    try:
        first = storage.reads.status()
        second = storage.reads.status()
        return first.lag == second.lag == 0 and first.log_seq == second.log_seq
    finally:
        storage.close()


def _leases(schema: str) -> dict[int, str]:
    db = Database(POSTGRES_URL, schema=schema)
    try:
        with db.read() as conn:
            rows = conn.execute(text("SELECT partition, owner FROM partition_leases")).all()
        return {int(p): str(owner) for p, owner in rows}
    finally:
        db.close()


def _split(leases: dict[int, str], owners: set[str]) -> dict[int, str] | None:
    return leases if set(leases.values()) == owners else None


@dataclass(frozen=True)
class Outcome:
    profiles: dict[str, tuple[Any, ...]]
    segments: dict[str, set[str]]
    instances: list[tuple[str, str, str, int]]
    journeys: dict[str, dict[str, int]]
    outbox: list[tuple[str, str, str, str]]


def _outcome(schema: str) -> Outcome:
    storage = _storage(schema)
    try:
        ids = storage.reads.profile_ids(10_000, 0)
        with storage.snapshot() as tx:
            states = tx.profiles.load(ids)
            segments = tx.segments.current(None)
            waiting = tx.journeys.active(ids)
        emails = storage.reads.emails(10_000)
        status = storage.reads.status()
    finally:
        storage.close()
    return Outcome(
        profiles={
            pid: (s.traits, s.computed, s.first_seen, s.last_seen) for pid, s in states.items()
        },
        segments=segments,
        instances=sorted((i.key, i.journey_key, i.profile_id, i.step) for i in waiting),
        journeys=status.journeys,
        outbox=sorted(
            (e.item.idempotency_key, e.item.profile_id, e.item.to_address, e.item.template)
            for e in emails
        ),
    )


def _quiet(log: Path) -> None:
    said = log.read_text(errors="replace")
    assert "Traceback" not in said, said
    assert " ERROR " not in said, said


@pytest.mark.slow
def test_two_processors_on_postgresql_end_where_one_ends(
    tmp_path: Path, pg_schema: str, reference_schema: str
) -> None:
    events = _events()
    shared = write_workspace(tmp_path / "two", processor={"partitions": 2, "lease_seconds": 2})
    alone = write_workspace(tmp_path / "one", processor={"partitions": 1})
    early, late = PEOPLE[:15], PEOPLE[15:]
    _ingest(shared, pg_schema, [events[user] for user in early])
    _ingest(alone, reference_schema, [events[user] for user in PEOPLE])

    logs = [tmp_path / f"processor-{slot}.log" for slot in (0, 1)] + [tmp_path / "alone.log"]
    runs = [
        (shared, pg_schema, 0, logs[0]),
        (shared, pg_schema, 1, logs[1]),
        (alone, reference_schema, 0, logs[2]),
    ]
    processes = [
        start_pertinent(
            ["serve", "--workspace", str(root), "--only", "processor", "--slot", str(slot)],
            log,
            {"PERTINENT_DATABASE_URL": _url(schema)},
        )
        for root, schema, slot, log in runs
    ]
    try:
        host = socket.gethostname()
        owners = {0: f"{host}/processor-0", 1: f"{host}/processor-1"}
        leases = wait_for(
            lambda: _split(_leases(pg_schema), set(owners.values())),
            "the two processors hold one partition each",
        )
        # Most of the events arrive once the partitions are split, so each processor has
        # its share of them to process.
        _ingest(shared, pg_schema, [events[user] for user in late])
        wait_for(lambda: _drained(pg_schema), "two processors drain the log", timeout=120)
        wait_for(lambda: _drained(reference_schema), "one processor drains it", timeout=120)
        two, one = _outcome(pg_schema), _outcome(reference_schema)
    finally:
        for process in processes:
            stop_pertinent(process)

    for slot, log in enumerate(logs[:2]):
        mine = [p for p, owner in leases.items() if owner == owners[slot]]
        assert f"working on partitions {mine}" in log.read_text(), f"processor {slot} worked"
    for log in logs:
        _quiet(log)

    assert sorted(two.profiles) == PEOPLE
    assert two.profiles == one.profiles, "traits, computed properties, first and last seen"
    assert {k for k, members in one.segments.items() if members} >= {
        "cart_abandoners",
        "electronics_fans",
        "high_value",
    }, "the events put people in segments"
    assert two.segments == one.segments, "the same open memberships"
    assert one.instances, "people wait in journeys"
    assert two.instances == one.instances
    assert two.journeys == one.journeys
    assert one.outbox, "welcome emails were enqueued"
    assert two.outbox == one.outbox, "the same emails, keys and recipients"
