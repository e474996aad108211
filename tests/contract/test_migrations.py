"""Migrations on both backends: a new database starts at the latest version without running
old steps; an existing one runs each missing step once."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import POSTGRES_URL
from sqlalchemy import Connection, select, text

from pertinent.storage.sql import migrations, tables
from pertinent.storage.sql.database import Database


def _open(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.node.callspec.params["backend"] == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'migrations.db'}")
    return Database(POSTGRES_URL, schema=request.getfixturevalue("pg_schema"))


def _versions(db: Database) -> list[int]:
    with db.read() as conn:
        return sorted(conn.execute(select(tables.schema_migrations.c.version)).scalars())


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_old_database_gets_each_missing_step_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[int] = []

    def add_note(conn: Connection) -> None:
        runs.append(2)
        conn.execute(text("ALTER TABLE cursors ADD COLUMN note VARCHAR(20)"))

    _open(request, tmp_path).close()  # released with the baseline only
    monkeypatch.setattr(migrations, "STEPS", [(2, add_note)])
    db = _open(request, tmp_path)
    db.close()
    db = _open(request, tmp_path)
    assert runs == [2]
    assert _versions(db) == [1, 2]
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
