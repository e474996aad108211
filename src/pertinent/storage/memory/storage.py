"""The in-memory unit of work: every store bound to one transaction over one state."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from pertinent.events.model import Event
from pertinent.storage.memory.artefacts import MemoryArtefacts, MemoryCoordination
from pertinent.storage.memory.broadcasts import MemoryBroadcasts
from pertinent.storage.memory.consent import MemoryConsentStore
from pertinent.storage.memory.journeys import MemoryJourneyStore
from pertinent.storage.memory.log import MemoryCursors, MemoryEventLog
from pertinent.storage.memory.outbox import MemoryOutbox, MemorySuppressions
from pertinent.storage.memory.products import MemoryProductStore
from pertinent.storage.memory.profiles import MemoryProfileStore
from pertinent.storage.memory.reads import MemoryReadModel
from pertinent.storage.memory.segments import MemorySegmentStore
from pertinent.storage.memory.state import State
from pertinent.storage.memory.violations import MemoryViolations
from pertinent.storage.memory.webhooks import MemoryWebhooks
from pertinent.storage.ports import AppendResult, Violation


class MemoryTransaction:
    def __init__(self, state: State):
        self.log = MemoryEventLog(state)
        self.cursors = MemoryCursors(state)
        self.profiles = MemoryProfileStore(state)
        self.segments = MemorySegmentStore(state)
        self.journeys = MemoryJourneyStore(state)
        self.outbox = MemoryOutbox(state)
        self.suppressions = MemorySuppressions(state)
        self.webhooks = MemoryWebhooks(state)
        self.broadcasts = MemoryBroadcasts(state)
        self.products = MemoryProductStore(state)
        self.consent = MemoryConsentStore(state)
        self.artefacts = MemoryArtefacts(state)
        self.coordination = MemoryCoordination(state)
        self.violations = MemoryViolations(state)


class MemoryStorage:
    """`Storage` in one process's memory, the reference the SQL adapter is held to.

    A transaction works on a deep copy of the committed state and, if it ends without an
    exception, replaces the committed state with it: atomic without an undo log. Writers
    take turns (a lock held for the whole transaction), as SQLite's one writer does, so a
    `ConcurrentUpdate` here only ever means a stale read: a profile or an identity loaded
    before another transaction changed it. A committed state is never changed again, so
    snapshots and reads need no lock.
    """

    def __init__(self) -> None:
        self._state = State()
        self._writer = threading.RLock()
        self._writing = False
        self._reads = MemoryReadModel(lambda: self._state)

    @property
    def reads(self) -> MemoryReadModel:
        return self._reads

    @contextmanager
    def transaction(self) -> Iterator[MemoryTransaction]:
        with self._writer:
            if self._writing:
                # The inner one would commit first and the outer one then overwrite it.
                raise RuntimeError("a transaction is already open in this thread")
            working = copy.deepcopy(self._state)
            self._writing = True
            try:
                yield MemoryTransaction(working)
            finally:
                self._writing = False
            self._state = working

    def append(
        self, batches: Sequence[Sequence[Event]], violations: Sequence[Violation] = ()
    ) -> list[AppendResult]:
        with self.transaction() as tx:
            tx.violations.add(violations)
            return [tx.log.append(events) for events in batches]

    @contextmanager
    def snapshot(self) -> Iterator[MemoryTransaction]:
        """A copy of the committed state: writes through it are lost."""
        yield MemoryTransaction(copy.deepcopy(self._state))

    def forget_deleted(self) -> bool:
        """A replaced state keeps nothing: there are no files."""
        return True

    def close(self) -> None:
        """Nothing to release: the state lives as long as this object."""
