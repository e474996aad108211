"""The SQL unit of work: every store bound to one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import Connection

from pertinent.events.model import Event
from pertinent.storage.ports import AppendResult, Violation
from pertinent.storage.sql.artefacts import SqlArtefacts, SqlCoordination
from pertinent.storage.sql.broadcasts import SqlBroadcasts
from pertinent.storage.sql.consent import SqlConsentStore
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.journeys import SqlJourneyStore
from pertinent.storage.sql.log import SqlCursors, SqlEventLog, encode_events, insert_events
from pertinent.storage.sql.outbox import SqlOutbox, SqlSuppressions
from pertinent.storage.sql.products import SqlProductStore
from pertinent.storage.sql.profiles import SqlProfileStore
from pertinent.storage.sql.reads import SqlReadModel
from pertinent.storage.sql.segments import SqlSegmentStore
from pertinent.storage.sql.violations import SqlViolations
from pertinent.storage.sql.webhooks import SqlWebhooks


class SqlTransaction:
    def __init__(self, conn: Connection):
        self.log = SqlEventLog(conn)
        self.cursors = SqlCursors(conn)
        self.profiles = SqlProfileStore(conn)
        self.segments = SqlSegmentStore(conn)
        self.journeys = SqlJourneyStore(conn)
        self.outbox = SqlOutbox(conn)
        self.suppressions = SqlSuppressions(conn)
        self.webhooks = SqlWebhooks(conn)
        self.broadcasts = SqlBroadcasts(conn)
        self.products = SqlProductStore(conn)
        self.consent = SqlConsentStore(conn)
        self.artefacts = SqlArtefacts(conn)
        self.coordination = SqlCoordination(conn)
        self.violations = SqlViolations(conn)


class SqlStorage:
    """`Storage` on SQLite or PostgreSQL."""

    def __init__(self, db: Database):
        self.db = db
        self._reads = SqlReadModel(db)

    @property
    def reads(self) -> SqlReadModel:
        return self._reads

    def append(
        self, batches: Sequence[Sequence[Event]], violations: Sequence[Violation] = ()
    ) -> list[AppendResult]:
        """Encoded first, then written: the one writer is held only for the inserts."""
        encoded = [(encode_events(self.db.backend, events), len(events)) for events in batches]
        with self.db.write() as conn:
            SqlViolations(conn).add(violations)
            return [insert_events(conn, rows, given) for rows, given in encoded]

    @contextmanager
    def transaction(self) -> Iterator[SqlTransaction]:
        with self.db.write() as conn:
            yield SqlTransaction(conn)

    @contextmanager
    def snapshot(self) -> Iterator[SqlTransaction]:
        with self.db.read() as conn:
            yield SqlTransaction(conn)

    def forget_deleted(self) -> bool:
        """SQLite: deleted content is zeroed as it goes (`secure_delete`), and the WAL, which
        still holds the pages as they were, is copied into the database and truncated.
        PostgreSQL: deleted rows stay in the table files until VACUUM reuses their space,
        and in archived WAL; nothing to do from here (docs/privacy.md)."""
        return self.db.checkpoint() if self.db.backend == "sqlite" else True

    def close(self) -> None:
        self.db.close()
