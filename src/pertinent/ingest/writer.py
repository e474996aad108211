"""One thread that appends to the log for a whole process, committing what waits together.

Requests that arrive while a transaction is being written share the next one (group commit):
one writer lock, one commit, instead of one per request. And only this thread writes, so the
request threads are not each fighting for the GIL with the database's one writer held, which
stretched every SQLite transaction under load. A caller's events are durable when its
`append` returns, and so are the tracking-plan violations it counted. A transaction that
fails is retried one call at a time, so one call that cannot be written holds back no other.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from pertinent.events.model import Event
from pertinent.storage.ports import AppendResult, Storage, Violation

log = logging.getLogger("pertinent.ingest")
# At most this many events per shared transaction: bounds how long it holds the writer.
GROUP_EVENTS = 5_000


@dataclass
class _Call:
    events: Sequence[Event]
    violations: Sequence[Violation] = ()
    done: Future[AppendResult] = field(default_factory=Future)


class LogWriter:
    def __init__(self, storage: Storage):
        self._storage = storage
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(
        self, events: Sequence[Event], violations: Sequence[Violation] = ()
    ) -> Future[AppendResult]:
        """Queue the events and violations for the next transaction; the future resolves
        once committed."""
        call = _Call(events, violations)
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
                self._thread.start()
        self._calls.put(call)
        return call.done

    def append(self, events: Sequence[Event], violations: Sequence[Violation] = ()) -> AppendResult:
        """Append and wait until the events are durable."""
        return self.submit(events, violations).result()

    def close(self) -> None:
        with self._start:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._calls.put(None)
            thread.join()

    def _run(self) -> None:
        while True:
            first = self._calls.get()
            if first is None:
                return
            group = [first]
            size = len(first.events)
            while size < GROUP_EVENTS:
                try:
                    more = self._calls.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._write(group)
                    return
                group.append(more)
                size += len(more.events)
            self._write(group)

    def _write(self, group: list[_Call]) -> None:
        try:
            results = self._storage.append(
                [call.events for call in group], [v for call in group for v in call.violations]
            )
        except Exception as exc:
            if len(group) == 1:
                log.exception("could not append %d events", len(group[0].events))
                group[0].done.set_exception(exc)
                return
            for call in group:
                self._write([call])
            return
        for call, result in zip(group, results, strict=True):
            call.done.set_result(result)
