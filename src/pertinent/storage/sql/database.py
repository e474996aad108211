"""Opening the database: engine, dialect setup, migrations, and transactions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path

import orjson
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from pertinent.errors import ConfigError
from pertinent.storage.sql import dialect
from pertinent.storage.sql.migrations import migrate


class Database:
    """One database, SQLite or PostgreSQL, with writer and reader transactions."""

    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = 8):
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise ConfigError(
                f"not a database URL: {url!r}",
                where="storage.url",
                hint="use sqlite:///path/to/file.db or postgresql+psycopg://user@host/db",
            ) from exc
        self.url = parsed
        self.backend = parsed.get_backend_name()
        self._writer_lock: AbstractContextManager[object] = (
            threading.Lock() if self.backend == "sqlite" else nullcontext()
        )
        if self.backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                parsed,
                json_serializer=dialect.json_dumps,
                json_deserializer=orjson.loads,
                pool_size=pool_size,
                max_overflow=pool_size,
            )
            dialect.configure_sqlite(self.engine)
        elif self.backend == "postgresql":
            if parsed.drivername == "postgresql":
                parsed = parsed.set(drivername="postgresql+psycopg")
            self.engine = create_engine(
                parsed,
                json_serializer=dialect.json_dumps,
                json_deserializer=orjson.loads,
                pool_size=pool_size,
                max_overflow=pool_size,
            )
            if schema is not None:
                with self.engine.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
                self.engine.dispose()
            dialect.configure_postgresql(self.engine, schema)
        else:
            raise ConfigError(
                f"unsupported database {self.backend!r}",
                where="storage.url",
                hint="Pertinent stores its state in SQLite or PostgreSQL",
            )
        try:
            with self.write() as conn:
                migrate(conn)
        except OperationalError as exc:
            raise ConfigError(
                f"cannot open the database: {exc.orig}",
                where="storage.url",
                hint="check that the server runs and the URL is right",
            ) from exc

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that may write; commits on success, rolls back on error.

        SQLite has one writer at a time. Threads of this process queue on a lock instead of on
        SQLite's busy handler, whose sleep-and-retry wastes most of the time under contention;
        other processes still wait on the busy timeout.
        """
        with self._writer_lock, self.engine.connect() as conn:
            conn = conn.execution_options(writer=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on both backends)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def close(self) -> None:
        self.engine.dispose()
