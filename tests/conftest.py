"""Shared fixtures: databases (SQLite file and a real PostgreSQL schema), a simulated clock,
a real SMTP server (aiosmtpd) that keeps what it receives, the example workspace and its
system."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apitools import ADMIN_KEY, BROWSER_KEY, WRITE_KEY
from sqlalchemy import create_engine, text

from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.sink import SmtpSink
from pertinent.scaffold import write_example_workspace
from pertinent.storage.memory.storage import MemoryStorage
from pertinent.storage.ports import Storage
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage

pytest_plugins = ["chromium"]  # the browser tests' `browser` and `page` fixtures
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="session")
def api_keys() -> Iterator[None]:
    """Known keys for every workspace a test makes (and every process it starts): keys from
    the environment replace the random ones `pertinent init` writes. Session-wide, so that
    module-scoped workspaces have them too."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PERTINENT_SERVER_KEY", WRITE_KEY)
        env.setenv("PERTINENT_WRITE_KEY", BROWSER_KEY)
        env.setenv("PERTINENT_ADMIN_KEY", ADMIN_KEY)
        yield


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


@contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A new schema name in the real PostgreSQL (created by whoever opens it), dropped after."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh schema in the real PostgreSQL for one test, dropped afterwards."""
    with fresh_pg_schema() as schema:
        yield schema


@pytest.fixture
def workspace(tmp_path: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The example workspace, delivering to the test's SMTP sink."""
    root = tmp_path / "ws"
    write_example_workspace(root)
    monkeypatch.setenv("PERTINENT_SMTP_URL", f"smtp://127.0.0.1:{sink.port}")
    return root


@pytest.fixture
def system(workspace: Path, clock: SimClock) -> Iterator[System]:
    """The example workspace's system; tests move `clock` and process themselves."""
    built = build_system(load_workspace(workspace), clock=clock)
    yield built
    built.close()


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
