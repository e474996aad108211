"""The processor: folds new log events, in seq order, into profiles, segments and journeys.

Each micro-batch (events, the state they change, the events they cause, and the cursor) commits
in one transaction: a crash re-runs the batch from the old cursor and nothing counts twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pertinent.clock import Clock
from pertinent.events.model import Event
from pertinent.events.system import system_event
from pertinent.journeys.runtime import Instance, JourneyRuntime
from pertinent.profiles.fold import apply_event
from pertinent.profiles.identity import IdentityResolver
from pertinent.profiles.state import ProfileState
from pertinent.recommend.catalogue import Product, combine, products_in
from pertinent.segments.engine import MembershipChange, SegmentEngine
from pertinent.storage.ports import Storage, Transaction

CURSOR = "processor"


@dataclass(frozen=True)
class BatchResult:
    events: int
    last_seq: int
    segment_changes: int


def _changes_as_events(changes: list[MembershipChange], now: datetime) -> list[Event]:
    return [
        system_event(f"segment_{c.kind}", c.profile_id, {"segment": c.segment}, now)
        for c in changes
    ]


class Processor:
    def __init__(
        self, storage: Storage, clock: Clock, segments: SegmentEngine, journeys: JourneyRuntime
    ):
        self._storage = storage
        self._clock = clock
        self._segments = segments
        self._journeys = journeys

    def process_batch(self, limit: int = 1000) -> BatchResult | None:
        """Process up to `limit` new events; None when the log has nothing new."""
        with self._storage.transaction() as tx:
            start = tx.cursors.get(CURSOR)
            batch = tx.log.read_after(start, limit)
            if not batch:
                return None
            now = self._clock.now()
            touched, inputs = self._fold(
                tx, batch_events=[(b.seq, b.event) for b in batch], now=now
            )
            emitted = []
            changes = self._segments.evaluate(tx.segments, now, touched)
            emitted.extend(_changes_as_events(changes, now))
            emitted.extend(self._run_journeys(tx, inputs, now))
            tx.log.append(emitted)
            tx.cursors.set(CURSOR, batch[-1].seq)
            return BatchResult(len(batch), batch[-1].seq, len(changes))

    def _fold(
        self, tx: Transaction, batch_events: list[tuple[int, Event]], now: datetime
    ) -> tuple[set[str], list[tuple[str, Event]]]:
        resolver = IdentityResolver(tx.profiles)
        states: dict[str, ProfileState] = {}
        redirect: dict[str, str] = {}
        records: list[tuple[int, str, str | None, datetime, dict[str, Any]]] = []
        inputs: list[tuple[str, Event]] = []
        exits: list[Event] = []
        seen_products: dict[str, Product] = {}

        # One query for every profile the batch can touch, not one per event.
        candidates = resolver.prefetch(event for _, event in batch_events if not event.is_bot)
        states.update(tx.profiles.load(candidates))

        def state_of(pid: str) -> ProfileState:
            if pid not in states:
                stored = None if pid in candidates else tx.profiles.load([pid]).get(pid)
                states[pid] = stored or ProfileState(pid)
            return states[pid]

        for seq, event in batch_events:
            if event.is_bot:
                continue
            pid, losers = resolver.resolve(event)
            for loser in losers:
                winner_state = state_of(pid)
                winner_state.absorb(state_of(loser))
                del states[loser]
                left = tx.segments.exit_all(loser, now)
                exits.extend(
                    system_event("segment_exited", pid, {"segment": k, "merged": loser}, now)
                    for k in left
                )
                tx.profiles.merge(loser, pid)
                resolver.merged(loser, pid)
                redirect[loser] = pid
            apply_event(state_of(pid), event)
            for product in products_in(event):
                earlier = seen_products.get(product.item_id)
                seen_products[product.item_id] = combine(earlier, product) if earlier else product
            records.append((seq, pid, event.action, event.timestamp, event.properties))
            inputs.append((pid, event))

        def final(pid: str) -> str:
            while pid in redirect:
                pid = redirect[pid]
            return pid

        resolver.flush()
        tx.profiles.save(states.values())
        tx.products.upsert(list(seen_products.values()))
        tx.profiles.record([(s, final(p), a, t, props) for s, p, a, t, props in records])
        tx.log.append(exits)
        return {final(p) for p, _ in inputs}, [(final(p), e) for p, e in inputs]

    def _run_journeys(
        self, tx: Transaction, inputs: list[tuple[str, Event]], now: datetime
    ) -> list[Event]:
        if not self._journeys.journeys:
            return []
        active: dict[str, list[Instance]] = defaultdict(list)
        for inst in tx.journeys.active({pid for pid, _ in inputs}):
            active[inst.profile_id].append(inst)
        emitted: list[Event] = []
        for pid, event in inputs:
            active[pid], out = self._journeys.on_event(tx, active[pid], pid, event, now)
            emitted.extend(out)
        return emitted

    def run_timers(self, limit: int = 500) -> int:
        """Wake what is due: segment window edges and journey waits.

        A timer only fires once every event that arrived before it was due has been
        processed: an order received at minute 30 but still in the backlog at minute 61 must
        cancel the one-hour cart reminder, not lose the race to it.
        """
        with self._storage.transaction() as tx:
            now = self._clock.now()
            backlog_since = tx.log.received_after(tx.cursors.get(CURSOR))
            if backlog_since is not None:
                now = min(now, backlog_since)
            emitted: list[Event] = []
            woke = 0
            due = set().union(*tx.segments.due_timers(now, limit).values())
            if due:
                woke += len(due)
                # All segments, not just the one whose edge passed: others may depend on it.
                emitted.extend(
                    _changes_as_events(self._segments.evaluate(tx.segments, now, due), now)
                )
            for inst in tx.journeys.due(now, limit):
                woke += 1
                emitted.extend(self._journeys.on_wake(tx, inst, now))
            tx.log.append(emitted)
            return woke

    def run_until_idle(self, batch_size: int = 1000) -> int:
        """Process the log to its end and run due timers; return events processed."""
        total = 0
        while True:
            result = self.process_batch(batch_size)
            woke = self.run_timers()
            if result is None and woke == 0:
                return total
            total += result.events if result else 0
