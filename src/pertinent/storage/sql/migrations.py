"""Versioned schema migrations, run on start.

Each step is applied once, in order, inside the opening transaction, and recorded in
`schema_migrations`. A change to a table after a release is a new step here, never an edit of
an old one.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, insert, select

from pertinent.clock import WallClock
from pertinent.storage.sql import tables


def _initial_schema(conn: Connection) -> None:
    tables.metadata.create_all(conn)


STEPS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _initial_schema),
]


def migrate(conn: Connection) -> int:
    """Bring the schema up to date; return the version it is at now."""
    tables.schema_migrations.create(conn, checkfirst=True)
    done = set(conn.execute(select(tables.schema_migrations.c.version)).scalars())
    for version, step in STEPS:
        if version in done:
            continue
        step(conn)
        # Bookkeeping, not business time: the wall clock is the honest value.
        conn.execute(
            insert(tables.schema_migrations).values(version=version, applied_at=WallClock().now())
        )
    return STEPS[-1][0]
