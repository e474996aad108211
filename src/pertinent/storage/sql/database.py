"""Opening the database: engine, dialect setup, migrations, and transactions."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import orjson
import psycopg
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from pertinent.errors import ConfigError
from pertinent.storage.ports import ConcurrentUpdate
from pertinent.storage.sql import dialect
from pertinent.storage.sql.migrations import migrate


class WriterLock:
    """SQLite's one writer, taken in the kernel instead of in SQLite's busy handler.

    The busy handler sleeps and retries, and under contention wastes most of the time
    sleeping; an flock on a file beside the database wakes the next writer the instant the
    last one is done, across processes (the API, the processor and the sender are separate
    processes). Threads of one process share the lock's file, so they queue on a thread lock
    first. Without a file (PostgreSQL, SQLite in memory) only the thread lock is taken where
    asked.
    """

    def __init__(self, path: Path | None, *, threads: bool):
        self._thread = threading.Lock() if threads else None
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if path is not None else None

    def __enter__(self) -> None:
        if self._thread is not None:
            self._thread.acquire()
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        if self._thread is not None:
            self._thread.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


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
        lock_file: Path | None = None
        if self.backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                lock_file = Path(f"{parsed.database}.writer")
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
        self._writer_lock = WriterLock(lock_file, threads=self.backend == "sqlite")
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
        """A transaction that may write; commits on success, rolls back on error. A race lost
        to another writer comes out as `ConcurrentUpdate`, for the caller to run again."""
        with self._writer_lock, self.engine.connect() as conn:
            conn = conn.execution_options(writer=True)
            try:
                with conn.begin():
                    yield conn
            except (DBAPIError, psycopg.Error) as exc:
                if dialect.is_conflict(exc):
                    cause = exc.orig if isinstance(exc, DBAPIError) else exc
                    raise ConcurrentUpdate(str(cause).splitlines()[0]) from exc
                raise

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction (a consistent snapshot on both backends)."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def checkpoint(self, attempts: int = 50) -> bool:
        """SQLite: copy the WAL into the database and truncate it, once no reader still
        needs its old pages (retried for a few seconds); False if readers kept it busy."""
        with self._writer_lock:
            raw = self.engine.raw_connection()
            try:
                for _ in range(attempts):
                    cursor = raw.cursor()
                    busy = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                    cursor.close()
                    if not busy:
                        return True
                    time.sleep(0.1)
                return False
            finally:
                raw.close()

    def close(self) -> None:
        self.engine.dispose()
        self._writer_lock.close()
