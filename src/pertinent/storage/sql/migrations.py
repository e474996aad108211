"""Versioned schema migrations, run on start.

A new database gets the current schema (`tables.py`) in one go and is recorded at the latest
version; an existing one gets, in order, the steps it has not had, inside the opening
transaction. So a change to a table is two edits: the table in `tables.py` (what a new
database gets) and a new step in `STEPS` (what brings an old one to the same place); never an
edit of an old step.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, insert, inspect, select, text

from pertinent.clock import WallClock
from pertinent.storage.sql import tables

BASELINE = 1  # the schema as first released


def _rebuild_sqlite_events(conn: Connection) -> None:
    """SQLite: the events table again, with AUTOINCREMENT, so a seq is never handed out twice;
    the sequence starts past every seq any reader has seen (the newest may be erased)."""
    conn.execute(text("ALTER TABLE events RENAME TO events_v1"))
    tables.events.create(conn)
    columns = (
        "seq, message_id, type, name, user_id, anonymous_id, previous_id, group_id, timestamp,"
        " received_at, properties, traits, context, is_bot"
    )
    conn.execute(text(f"INSERT INTO events ({columns}) SELECT {columns} FROM events_v1"))
    conn.execute(text("DROP TABLE events_v1"))
    seen = conn.execute(
        text(
            "SELECT max(s) FROM (SELECT max(seq) AS s FROM events"
            " UNION ALL SELECT max(seq) FROM cursors)"
        )
    ).scalar()
    conn.execute(text("DELETE FROM sqlite_sequence WHERE name = 'events'"))
    conn.execute(
        text("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', :seq)"), {"seq": seen or 0}
    )


def _processes_and_partitions(conn: Connection) -> None:
    """Version 2: partition keys, optimistic profile versions, instances keyed by what
    started them, sender lease owners, model artefacts, process leases; and on SQLite,
    seqs that are never reused.

    Rows written before it get partition key 0: with more than one partition they belong to
    partition 0, which is still exactly one processor's.
    """
    if conn.dialect.name == "sqlite":
        _rebuild_sqlite_events(conn)
    else:
        conn.execute(text("ALTER TABLE events ADD COLUMN pkey BIGINT NOT NULL DEFAULT 0"))
    for statement in (
        "ALTER TABLE profiles ADD COLUMN version INTEGER NOT NULL DEFAULT 1",
        "ALTER TABLE timers ADD COLUMN pkey BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE journey_instances ADD COLUMN instance_key VARCHAR(64) NOT NULL DEFAULT ''",
        "UPDATE journey_instances SET instance_key = 'legacy-' || CAST(id AS VARCHAR(20))",
        "CREATE UNIQUE INDEX ux_journey_instance_key ON journey_instances (instance_key)",
        "ALTER TABLE journey_instances ADD COLUMN pkey BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE outbox ADD COLUMN lease_owner VARCHAR(200)",
        "CREATE UNIQUE INDEX ux_membership_open ON segment_membership (segment_key, profile_id)"
        " WHERE exited_at IS NULL",
    ):
        conn.execute(text(statement))
    for table in (tables.artefacts, tables.erasures, tables.workers, tables.partition_leases):
        table.create(conn, checkfirst=True)


def _segment_versions(conn: Connection) -> None:
    """Version 3: every saved segment definition, and memberships found by when they began
    (a segment's size over time)."""
    tables.segment_versions.create(conn, checkfirst=True)
    conn.execute(
        text("CREATE INDEX ix_membership_entered ON segment_membership (segment_key, entered_at)")
    )


def _ingestion_flags(conn: Connection) -> None:
    """Version 4: events carry the flags ingestion gave them; tracking-plan violations are
    counted. (On SQLite, step 2 may have just rebuilt the events table, flags included.)"""
    kind = "JSONB" if conn.dialect.name == "postgresql" else "JSON"
    _add_missing_column(conn, "events", "flags", f"{kind} NOT NULL DEFAULT '[]'")
    tables.tracking_plan_violations.create(conn, checkfirst=True)


def _delivery_feedback(conn: Connection) -> None:
    """Version 7: an address can be suppressed for several reasons at once (an unsubscribed
    address that later hard-bounces must be known as bounced), and bounces that name
    only an address find the email through an index on the outbox's recipient.

    The table keeps whatever columns it has now (another step may have added some): only its
    key changes, in place on PostgreSQL, by SQLite's copy-and-rename on SQLite."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE suppressions DROP CONSTRAINT suppressions_pkey"))
        conn.execute(text("ALTER TABLE suppressions ADD PRIMARY KEY (address, reason)"))
    else:
        master = "SELECT sql FROM sqlite_master WHERE tbl_name = 'suppressions' AND type = "
        create = conn.execute(text(master + "'table'")).scalar_one()
        indexes = conn.execute(text(master + "'index' AND sql IS NOT NULL")).scalars().all()
        keyed = create.replace("PRIMARY KEY (address)", "PRIMARY KEY (address, reason)")
        assert keyed != create, f"unexpected suppressions table: {create}"
        conn.execute(text(keyed.replace("suppressions", "suppressions_v7", 1)))
        conn.execute(text("INSERT INTO suppressions_v7 SELECT * FROM suppressions"))
        conn.execute(text("DROP TABLE suppressions"))
        conn.execute(text("ALTER TABLE suppressions_v7 RENAME TO suppressions"))
        for index in indexes:
            conn.execute(text(index))
    conn.execute(text("CREATE INDEX ix_outbox_to_address ON outbox (to_address, created_at)"))


def _add_missing_column(conn: Connection, table: str, column: str, ddl: str) -> None:
    """Add a column unless the table has it (a step that rebuilt the table from the current
    `tables.py` may have given it already)."""
    if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))


def _consent_and_provenance(conn: Connection) -> None:
    """Version 8: events sent with a browser key are marked (they never write the catalogue);
    a product row names the person whose event last changed it; consent per topic."""
    _add_missing_column(conn, "events", "browser_key", "BOOLEAN NOT NULL DEFAULT false")
    _add_missing_column(conn, "products", "described_by", "VARCHAR(520)")
    conn.execute(text("CREATE INDEX ix_products_described_by ON products (described_by)"))
    tables.consent.create(conn, checkfirst=True)


def _events_by_action(conn: Connection) -> None:
    """Version 13: processed events found by action and time, for segments evaluated over
    everyone (a backfill reads each event of a window once, not each person's)."""
    conn.execute(
        text(
            "CREATE INDEX ix_profile_events_action"
            " ON profile_events (action, timestamp, profile_id)"
        )
    )


def _journey_graphs(conn: Connection) -> None:
    """Version 5: journeys as versioned graphs (step ids, versions, when an instance arrived
    at its step, exit reasons, goals), numbers per step, schedules, webhook calls,
    broadcasts.

    A step that was a list index becomes the id a plain list of steps gets (`step1` for
    index 0 ...); on SQLite the column keeps its INTEGER type, whose affinity keeps text
    that is not a number as text.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "ALTER TABLE journey_instances ALTER COLUMN step TYPE VARCHAR(64)"
                " USING 'step' || CAST(step + 1 AS VARCHAR(20))"
            )
        )
    else:
        conn.execute(text("UPDATE journey_instances SET step = 'step' || (step + 1)"))
    for column in (
        "version INTEGER NOT NULL DEFAULT 1",
        f"step_at {_time_type(conn)}",
        "exit_reason VARCHAR(200)",
        f"goal_at {_time_type(conn)}",
    ):
        conn.execute(text(f"ALTER TABLE journey_instances ADD COLUMN {column}"))
    for table in (
        tables.journey_versions,
        tables.journey_counts,
        tables.journey_schedules,
        tables.webhook_calls,
        tables.webhook_attempts,
        tables.broadcasts,
        tables.broadcast_recipients,
    ):
        table.create(conn, checkfirst=True)


def _time_type(conn: Connection) -> str:
    return "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"


# (version, step) after the baseline, in order.
STEPS: list[tuple[int, Callable[[Connection], None]]] = [
    (2, _processes_and_partitions),
    (3, _segment_versions),
    (4, _ingestion_flags),
    (5, _journey_graphs),
    (7, _delivery_feedback),
    (8, _consent_and_provenance),
    (13, _events_by_action),
]


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
