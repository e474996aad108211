"""Shared fixtures: databases (SQLite file and a real PostgreSQL schema), a simulated clock,
a real SMTP server (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from pertinent.clock import SimClock
from pertinent.delivery.sink import SmtpSink
from pertinent.storage.memory.storage import MemoryStorage
from pertinent.storage.ports import Storage
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SimClock:
    return SimClock(START)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink(None)
    server.start("127.0.0.1", 0)
    yield server
    server.stop()


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    return f"sqlite:///{tmp_path / 'pertinent.db'}"


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL for one test, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def storage(request, tmp_path) -> Iterator[Storage]:  # type: ignore[no-untyped-def]
    """Every adapter: the in-memory reference, and SQL on each backend against real
    databases."""
    store: Storage
    if request.param == "memory":
        store = MemoryStorage()
    elif request.param == "sqlite":
        store = SqlStorage(Database(f"sqlite:///{tmp_path / 'contract.db'}"))
    else:
        schema = request.getfixturevalue("pg_schema")
        store = SqlStorage(Database(POSTGRES_URL, schema=schema))
    yield store
    store.close()
