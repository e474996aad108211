"""Versioned schema migrations, run on start.

A new database gets the current schema (`tables.py`) in one go and is recorded at the latest
version; an existing one gets, in order, the steps it has not had, inside the opening
transaction. So a change to a table is two edits: the table in `tables.py` (what a new
database gets) and a new step in `STEPS` (what brings an old one to the same place); never an
edit of an old step.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, insert, select

from pertinent.clock import WallClock
from pertinent.storage.sql import tables

BASELINE = 1  # the schema as first released
# (version, step) after the baseline, in order.
STEPS: list[tuple[int, Callable[[Connection], None]]] = []


def migrate(conn: Connection) -> int:
    """Bring the schema up to date; return the version it is at now."""
    tables.schema_migrations.create(conn, checkfirst=True)
    done = set(conn.execute(select(tables.schema_migrations.c.version)).scalars())
    if not done:
        tables.metadata.create_all(conn)
    for version, step in [(BASELINE, None), *STEPS]:
        if version in done:
            continue
        if done and step is not None:
            step(conn)
        # Bookkeeping, not business time: the wall clock is the honest value.
        conn.execute(
            insert(tables.schema_migrations).values(version=version, applied_at=WallClock().now())
        )
    return max([BASELINE, *(version for version, _ in STEPS)])
