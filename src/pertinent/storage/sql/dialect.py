"""Everything that differs between SQLite and PostgreSQL lives here, and only here.

Besides connection setup, these are the helpers of the hot paths, which talk to the driver
directly: SQLAlchemy's per-row type processing and IN-list expansion cost more than the
queries themselves at processing rates. A list of ids is one parameter on both backends
(`json_each` of a JSON array on SQLite, `= ANY` of an array on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg.errors
import psycopg.types.json
from sqlalchemy import Connection, Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import ConnectionPoolEntry

SQLITE_BUSY_TIMEOUT_MS = 10_000
# The advisory lock that orders appends to the log on PostgreSQL (see `lock_log`).
_LOG_LOCK = 0x7065727401


def json_dumps(value: Any) -> str:
    """The JSON serializer for both backends (orjson: fast, and UTC datetimes as ISO-8601)."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, secure delete, and `BEGIN IMMEDIATE` for writers.

    pysqlite's own transaction handling begins lazily and upgrades read locks to write locks,
    which fails with "database is locked" at once instead of waiting; taking the write lock at
    BEGIN makes writers queue instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Deleted content is overwritten with zeros, not left in free space: an erased
        # person must not be readable from the file (with the WAL truncated afterwards).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get("writer") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def configure_postgresql(engine: Engine, schema: str | None) -> None:
    """orjson for JSON columns, and every connection pointed at the run's schema if set."""
    psycopg.types.json.set_json_loads(orjson.loads)
    if schema is None:
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        dbapi_conn.commit()


def is_postgresql(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def is_conflict(exc: BaseException) -> bool:
    """A race lost to another writer (deadlock, serialization, a unique key taken), which a
    retry of the whole transaction resolves. Raised through SQLAlchemy or, on the hot paths
    that talk to the driver directly, by psycopg itself."""
    return isinstance(
        exc.orig if isinstance(exc, DBAPIError) else exc,
        psycopg.errors.DeadlockDetected
        | psycopg.errors.SerializationFailure
        | psycopg.errors.UniqueViolation,
    )


def lock_log(conn: Connection) -> None:
    """Make appends to the log commit in seq order.

    PostgreSQL hands out sequence numbers at insert, not at commit: without this, a reader
    could see seq 11 committed before seq 10 and move its cursor past 10 for good. The lock
    is held until the appending transaction ends; SQLite's single writer already orders them.
    """
    if is_postgresql(conn):
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOG_LOCK})")


def mark(conn: Connection) -> str:
    """The driver's parameter placeholder."""
    return "%s" if is_postgresql(conn) else "?"


def json_mark(conn: Connection) -> str:
    """The placeholder for a JSON text parameter stored into a JSON column."""
    return "%s::jsonb" if is_postgresql(conn) else "?"


def time_mark(conn: Connection) -> str:
    """The placeholder for a time in a VALUES list, typed for PostgreSQL, which cannot tell
    a column of NULLs from text there."""
    return "%s::timestamptz" if is_postgresql(conn) else "?"


def in_ids(
    conn: Connection, column: str, ids: Collection[str] | Collection[int]
) -> tuple[str, Any]:
    """`column` is one of `ids`, as (SQL, the one parameter)."""
    if is_postgresql(conn):
        return f"{column} = ANY(%s)", list(ids)
    return f"{column} IN (SELECT value FROM json_each(?))", orjson.dumps(list(ids)).decode()


def from_json(value: Any) -> Any:
    """A JSON column's value as read by the driver (text on SQLite, parsed on PostgreSQL)."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def native_time(conn: Connection | str, value: datetime) -> Any:
    """An aware UTC datetime as the driver stores it for `UtcDateTime` columns (for a
    connection, or a backend's name when encoding before one is open)."""
    if (conn if isinstance(conn, str) else conn.dialect.name) == "sqlite":
        # SQLAlchemy's storage format for SQLite DATETIME, naive UTC (the offset cut off).
        utc = value if value.tzinfo is UTC else value.astimezone(UTC)
        return utc.isoformat(" ", timespec="microseconds")[:26]
    return value


def from_time(value: Any) -> datetime:
    """A `UtcDateTime` column's value as read by the driver, as an aware UTC datetime."""
    if isinstance(value, str):
        # Parsing the offset is several times faster than replacing tzinfo afterwards.
        return datetime.fromisoformat(value + "+00:00")
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def fetch(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Rows of a driver-level query (placeholders from `mark`), as the driver's tuples."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(params))
        return list(cursor.fetchall())
    finally:
        cursor.close()


# Parameters per statement: under SQLite's 32,766 and PostgreSQL's 65,535.
_PARAMETERS = 30_000


def execute_values(
    conn: Connection, head: str, row: str, rows: Sequence[tuple[Any, ...]], tail: str = ""
) -> int:
    """`head`, then the `row` placeholder group once per row, then `tail`: one statement for
    many rows (in chunks under the parameter limit); return the rows changed in all.

    One statement, not executemany: the driver releases the GIL once per statement it steps,
    so executemany re-acquires it once per row, and in a process whose other threads are busy
    (the API's), each re-acquisition can wait a whole switch interval, with the database's one
    writer held all along.
    """
    if not rows:
        return 0
    per = max(1, _PARAMETERS // len(rows[0]))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    changed = 0
    try:
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            cursor.execute(
                head + ", ".join([row] * len(chunk)) + tail, [v for r in chunk for v in r]
            )
            changed += int(cursor.rowcount)
        return changed
    finally:
        cursor.close()


def insert_ignoring(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, returning: str | None = None
) -> list[Any]:
    """Insert rows, skipping any that collide with a unique key; return `returning` of inserted."""
    if not rows:
        return []
    module = postgresql if is_postgresql(conn) else sqlite
    stmt = module.insert(table).on_conflict_do_nothing()
    if returning is None:
        conn.execute(stmt, list(rows))
        return []
    result = conn.execute(stmt.returning(table.c[returning]), list(rows))
    return list(result.scalars())


def bulk_insert_ignoring(
    conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> int:
    """The ingestion hot path: executemany straight on the driver, skipping duplicates.
    Values arrive already in driver-native form (JSON as text, times via `native_time`).
    Returns how many rows were inserted."""
    placeholders = ", ".join([mark(conn)] * len(columns))
    return execute_values(
        conn,
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ",
        f"({placeholders})",
        rows,
        " ON CONFLICT DO NOTHING",
    )


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert rows, replacing the non-key columns of rows whose `keys` already exist."""
    if not rows:
        return
    module = postgresql if is_postgresql(conn) else sqlite
    stmt = module.insert(table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), list(rows))


def insert_for(conn: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The backend's INSERT, which knows ON CONFLICT, for upserts that combine old and new."""
    return postgresql.insert(table) if is_postgresql(conn) else sqlite.insert(table)


def partition_of(conn: Connection, column: str, count: int, index: int) -> str:
    """SQL that `column` (a partition key) falls in partition `index` of `count`."""
    if count == 1:
        return "1 = 1"
    return (
        f"MOD({column}, {int(count)}) = {int(index)}"
        if is_postgresql(conn)
        else (f"({column} % {int(count)}) = {int(index)}")
    )


def skip_locked(conn: Connection) -> str:
    """The suffix that makes a claim query skip rows another transaction holds."""
    return " FOR UPDATE SKIP LOCKED" if is_postgresql(conn) else ""


def json_text(conn: Connection, column: str, key: str) -> str:
    """SQL for the top-level `key` of a JSON column as text (`key` is a trusted name)."""
    if is_postgresql(conn):
        return f"({column} ->> '{key}')"
    return f"CAST(json_extract({column}, '$.{key}') AS TEXT)"
