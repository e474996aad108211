"""Migrations on both backends: a new database starts at the latest version without running
old steps; an existing one runs each missing step once; a real version-1 database comes
forward with its data."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import POSTGRES_URL, START
from factories import track
from sqlalchemy import Connection, create_engine, select, text

from pertinent.storage.ports import Partition
from pertinent.storage.sql import migrations, tables
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage

HERE = Path(__file__).parent


def _url(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    if request.node.callspec.params["backend"] == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}", None
    return POSTGRES_URL, request.getfixturevalue("pg_schema")


def _open(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    url, schema = _url(request, tmp_path)
    return Database(url, schema=schema)


def _versions(db: Database) -> list[int]:
    with db.read() as conn:
        return sorted(conn.execute(select(tables.schema_migrations.c.version)).scalars())


# Versions are handed out ahead, so a branch may have 1, 2 and 4 before 3 is merged.
KNOWN = [migrations.BASELINE, *(v for v, _ in migrations.STEPS)]
LATEST = max(KNOWN)
RELEASED = [migrations.BASELINE, *(v for v, _ in migrations.STEPS)]  # versions are pre-assigned
LATEST = max(RELEASED)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_old_database_gets_each_missing_step_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[int] = []

    def add_note(conn: Connection) -> None:
        runs.append(LATEST + 1)
        conn.execute(text("ALTER TABLE cursors ADD COLUMN note VARCHAR(20)"))

    _open(request, tmp_path).close()  # released with the current steps
    monkeypatch.setattr(migrations, "STEPS", [*migrations.STEPS, (LATEST + 1, add_note)])
    db = _open(request, tmp_path)
    db.close()
    db = _open(request, tmp_path)
    assert runs == [LATEST + 1]
    assert _versions(db) == [*KNOWN, LATEST + 1]
    assert _versions(db) == [*RELEASED, LATEST + 1]
    with db.write() as conn:
        conn.execute(text("UPDATE cursors SET note = 'x'"))  # the column is there
    db.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_new_database_starts_at_the_latest_version_without_running_steps(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def must_not_run(conn: Connection) -> None:
        raise AssertionError("a new database already has the current schema")

    monkeypatch.setattr(migrations, "STEPS", [(2, must_not_run), (3, must_not_run)])
    db = _open(request, tmp_path)
    assert _versions(db) == [1, 2, 3]
    db.close()


def _version_1_database(url: str, schema: str | None, backend: str) -> None:
    """The schema as version 1 released it (DDL kept beside this test), with a little data."""
    engine = create_engine(url)
    stamp = START.replace(tzinfo=None) if backend == "sqlite" else START
    with engine.begin() as conn:
        if schema is not None:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f'SET search_path TO "{schema}"'))
        lines = (HERE / f"schema_v1.{backend}.sql").read_text().splitlines()
        ddl = "\n".join(line for line in lines if not line.startswith("--"))
        for statement in ddl.split(";"):
            if statement.strip():
                conn.execute(text(statement))
        conn.execute(text("INSERT INTO schema_migrations VALUES (1, :t)"), {"t": stamp})
        conn.execute(
            text(
                "INSERT INTO events (message_id, type, name, user_id, timestamp, received_at,"
                " properties, traits, context, is_bot) VALUES ('m1', 'track', 'E', 'u1', :t, :t,"
                " '{}', '{}', '{}', false)"
            ),
            {"t": stamp},
        )
        conn.execute(
            text(
                "INSERT INTO profiles (profile_id, traits, trait_times, computed) VALUES"
                " ('u1', '{\"city\": \"NYC\"}', '{}', '{}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO journey_instances (journey_key, profile_id, step, status, wake_at,"
                " \"trigger\", started_at) VALUES ('cart', 'u1', 0, 'waiting', :t, '{}', :t)"
            ),
            {"t": stamp},
        )
        conn.execute(
            text(
                "INSERT INTO suppressions (address, profile_id, reason, created_at) VALUES"
                " ('old@example.com', 'u1', 'unsubscribed', :t)"
            ),
            {"t": stamp},
        )
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_version_1_database_comes_forward_with_its_data(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url, schema = _url(request, tmp_path)
    _version_1_database(url, schema, backend)
    storage = SqlStorage(Database(url, schema=schema))
    try:
        assert _versions(storage.db) == KNOWN
        assert _versions(storage.db) == RELEASED
        with storage.transaction() as tx:
            [logged] = tx.log.read_after(0, 10, Partition(0, 1))
            assert logged.event.message_id == "m1"
            profile = tx.profiles.load(["u1"])["u1"]
            assert (profile.traits, profile.version) == ({"city": "NYC"}, 1)
            tx.profiles.save([profile])
            [waiting] = tx.journeys.claim_due(START, 10, Partition(0, 1))
            assert waiting.key.startswith("legacy-")
            assert (waiting.step, waiting.version) == ("step1", 1), "index 0 is step1 now"
            tx.segments.enter("s", {"u1"}, START)
            tx.artefacts.put("model", b"x", {}, START)
            assert tx.suppressions.suppressed(["old@example.com"]) == {"old@example.com"}
            tx.suppressions.add("old@example.com", "u1", "bounced", START)
            assert tx.suppressions.reasons(["old@example.com"]) == {"old@example.com": "bounced"}
            tx.profiles.erase("u1")  # the newest event goes with its person
        storage.close()
        # Reopened: the first new event comes after every seq a reader may have seen.
        storage = SqlStorage(Database(url, schema=schema))
        with storage.transaction() as tx:
            tx.log.append([track("E", START, user="u2")])
            [fresh] = tx.log.read_after(0, 10, Partition(0, 1))
        assert fresh.seq > logged.seq, "no seq is handed out twice"
    finally:
        storage.close()
