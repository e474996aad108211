"""Everything that differs between SQLite and PostgreSQL lives here, and only here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 10_000


def json_dumps(value: Any) -> str:
    """The JSON serializer for both backends (orjson: fast, and UTC datetimes as ISO-8601)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, and `BEGIN IMMEDIATE` for writers.

    pysqlite's own transaction handling begins lazily and upgrades read locks to write locks,
    which fails with "database is locked" at once instead of waiting; taking the write lock at
    BEGIN makes writers queue on the busy timeout instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("writer") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def configure_postgresql(engine: Engine, schema: str | None) -> None:
    """Point every connection at the run's schema, if one is set."""
    if schema is None:
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_conn.commit()


def insert_ignoring(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, returning: str | None = None
) -> list[Any]:
    """Insert rows, skipping any that collide with a unique key; return `returning` of inserted."""
    if not rows:
        return []
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table).on_conflict_do_nothing()
    if returning is None:
        conn.execute(stmt, list(rows))
        return []
    result = conn.execute(stmt.returning(table.c[returning]), list(rows))
    return list(result.scalars())


def native_time(conn: Connection, value: datetime) -> Any:
    """An aware UTC datetime as the driver stores it for `UtcDateTime` columns."""
    if conn.dialect.name == "sqlite":
        # SQLAlchemy's storage format for SQLite DATETIME, naive UTC.
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", timespec="microseconds")
    return value


def bulk_insert_ignoring(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> int:
    """The ingestion hot path: executemany straight on the driver, skipping duplicates.

    SQLAlchemy's per-row type processing costs more than the insert itself at ingestion rates,
    so values arrive already in driver-native form (JSON as text, times via `native_time`).
    Returns how many rows were inserted.
    """
    if not rows:
        return 0
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))}) ON CONFLICT DO NOTHING"
    )
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert rows, replacing the non-key columns of rows whose `keys` already exist."""
    if not rows:
        return
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = module.insert(table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), list(rows))
