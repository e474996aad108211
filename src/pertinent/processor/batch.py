"""The micro-batch: a partition's new events through fold, segments, journeys and compose,
committed with the partition's cursor in one transaction; and the timers.

The batch is read and folded in a snapshot, outside the write transaction (on SQLite the API
waits for the one writer). The write transaction takes the partition's cursor first (so a
second processor on the partition waits, then finds the batch done), applies the fold's
effects, then runs the phases that must read them (segment conditions are SQL over the
profiles and events just stored) and applies theirs, and moves the cursor. A crash re-runs the
batch from the old cursor and nothing counts twice.

What the snapshot read can be stale by the time it is written: another processor (a person's
anonymous and known events can be in different partitions), an erasure through the API, or
this processor's memory of what it committed (`known.py`). Every write checks what it read
(profile versions, links that must be new), and the loser of such a race rolls back and runs
its batch again.
"""

from __future__ import annotations

import logging
import random
import time
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from pertinent.clock import Clock
from pertinent.events.model import Event, LoggedEvent
from pertinent.journeys.broadcasts import EARLIEST_OFFSET
from pertinent.journeys.caps import SendPolicy
from pertinent.journeys.versions import JourneySet
from pertinent.processor.apply import apply
from pertinent.processor.compose import Composer
from pertinent.processor.effects import EmitEvents
from pertinent.processor.fold import Folded, FoldState, fold
from pertinent.processor.journeys import HISTORIC_CONTEXT, is_historic
from pertinent.processor.journeys_io import JourneyLoader
from pertinent.processor.known import Known
from pertinent.processor.segments import Work, evaluate, load_view, work_for
from pertinent.profiles.identity import candidate_profiles, identity_keys
from pertinent.profiles.state import is_anonymous
from pertinent.segments.definitions import SegmentSet
from pertinent.storage.ports import EVERYTHING, ConcurrentUpdate, Partition, Storage, Transaction

log = logging.getLogger("pertinent.processor")
T = TypeVar("T")
RETRIES = 8


@dataclass(frozen=True)
class Pipeline:
    """The workspace's definitions and how emails are made: what the phases run on."""

    segments: SegmentSet
    journeys: JourneySet
    composer: Composer
    policy: SendPolicy

    @property
    def interest(self) -> set[str]:
        return self.journeys.interest()


def retrying(work: Callable[[], T]) -> T:
    """Run a transaction again when another processor won a race for the same people."""
    for attempt in range(RETRIES):
        try:
            return work()
        except ConcurrentUpdate as exc:
            if attempt == RETRIES - 1:
                raise
            log.info("another processor changed the same people (%s); retrying", exc)
            time.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


class Processor:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        pipeline: Pipeline,
        *,
        batch_size: int = 1000,
        partitions: int = 1,
    ):
        self._storage = storage
        self._clock = clock
        self.batch_size = batch_size
        self.partitions = partitions
        self._known = Known()
        self.reload(pipeline)

    @property
    def pipeline(self) -> Pipeline:
        return self._pipeline

    def reload(self, pipeline: Pipeline) -> None:
        """Run on new definitions from the next batch on (an applied workspace)."""
        self._pipeline = pipeline
        self._interest = pipeline.interest
        self._loader = JourneyLoader(pipeline.journeys, pipeline.policy, pipeline.segments)

    def process_batch(self, partition: Partition = EVERYTHING, limit: int | None = None) -> int:
        """Process up to `limit` new events of the partition; return how many (0: none new)."""
        return retrying(lambda: self._process_batch(partition, limit or self.batch_size))

    def _process_batch(self, partition: Partition, limit: int) -> int:
        try:
            # Read and fold in a snapshot, outside the write transaction: on SQLite the API
            # waits for the one writer, so only the writes and what must read them are in it.
            with self._storage.snapshot() as tx:
                start = tx.cursors.get(partition.cursor)
                batch = tx.log.read_after(start, limit, partition)
                if not batch:
                    return 0
                now = self._clock.now()
                described = self._known.descriptions()
                folded = self._fold(tx, batch, now, described)
            renewed = folded.created | folded.merged
            work = work_for(self._pipeline.segments, folded.inputs, renewed)
            with self._storage.transaction() as tx:
                if tx.cursors.take(partition.cursor) != start:
                    raise ConcurrentUpdate(f"another processor moved {partition.cursor}")
                emitted = apply(tx, folded.effects)
                if work:
                    origin = f"seq{batch[0].seq}-{batch[-1].seq}"
                    emitted += self._evaluate(tx, work, now, origin, _historic_people(folded))
                emitted += self._journeys(tx, folded, now)
                tx.cursors.set(partition.cursor, batch[-1].seq)
                tx.log.append(emitted)  # last: see processor/apply.py
        except BaseException:
            self._known.clear()  # the states it lent out may be half-folded
            raise
        self._known.committed(folded.profiles.values(), folded.links, folded.gone)
        return len(batch)

    def _fold(
        self,
        tx: Transaction,
        batch: list[LoggedEvent],
        now: datetime,
        described: dict[str, list[dict[str, Any]]],
    ) -> Folded:
        """Fold the batch over what `tx` shows; the effects are applied by the caller, in
        the write transaction, where stale reads fail their version checks."""
        people = [logged.event for logged in batch if not logged.event.is_bot]
        keys = identity_keys(people)
        known, profiles = self._known.load(tx, keys)
        candidates = candidate_profiles(known, keys)
        # Only an anonymous profile, or any with an alias in the batch, can merge away.
        aliased = any(e.type == "alias" for e in people)
        losers = [p for p in candidates if aliased or is_anonymous(p)]
        memberships: dict[str, set[str]] = defaultdict(set)
        if losers:
            for key, members in tx.segments.current(losers).items():
                for pid in members:
                    memberships[pid].add(key)
        merging = {p: frozenset(k) for p, k in memberships.items()}
        return fold(FoldState(known, profiles, merging, described), batch, now)

    def _evaluate(
        self,
        tx: Transaction,
        work: Work,
        now: datetime,
        origin: str,
        historic: frozenset[str] = frozenset(),
    ) -> list[Event]:
        """`historic`: people whose every event in the batch was imported history; their
        segment entries and exits are marked so, and start no journey."""
        segments = self._pipeline.segments
        view = load_view(tx, segments, work, now)
        effects = evaluate(segments, work, view, now, origin)
        if historic:
            effects = [_marked(e, historic) if isinstance(e, EmitEvents) else e for e in effects]
        return apply(tx, effects)

    def _journeys(self, tx: Transaction, folded: Folded, now: datetime) -> list[Event]:
        inputs = [(pid, e) for pid, e in folded.inputs if e.action in self._interest]
        if not inputs and not folded.merged:
            return []
        advanced = self._loader.on_events(tx, inputs, folded.merged, folded.profiles, now)
        composer = self._pipeline.composer
        return apply(tx, self._loader.finish(tx, advanced, folded.profiles, composer, now))

    def horizon(self, tx: Transaction) -> datetime:
        """Now, or when the first unprocessed event arrived if that was earlier: a timer
        only fires once every event that arrived before it was due has been processed (an
        order received at minute 30 but still in the backlog at minute 61 must cancel the
        one-hour cart reminder, not lose the race to it)."""
        now = self._clock.now()
        cursors = tx.cursors.all()
        behind = min(
            cursors.get(Partition(i, self.partitions).cursor, 0) for i in range(self.partitions)
        )
        first = tx.log.received_after(behind)
        return min(now, first) if first is not None else now

    def run_timers(self, partition: Partition = EVERYTHING, limit: int = 500) -> int:
        """Wake what is due in the partition: segment window edges and journey waits; return
        how many woke."""
        return retrying(lambda: self._run_timers(partition, limit))

    def _run_timers(self, partition: Partition, limit: int) -> int:
        with self._storage.snapshot() as tx:
            horizon = self.horizon(tx)
            next_due = [
                t
                for t in (
                    tx.segments.next_due(partition),
                    tx.journeys.next_due(partition),
                    tx.broadcasts.next_due(partition),
                )
                if t
            ]
            if partition.index == 0 and tx.broadcasts.due(horizon, EARLIEST_OFFSET):
                next_due.append(horizon)
            scheduled = self._loader.schedules_due(tx, partition, horizon)
            if not scheduled and (not next_due or min(next_due) > horizon):
                return 0
        with self._storage.transaction() as tx:
            now = self.horizon(tx)
            due = tx.segments.claim_due(now, limit, partition)
            people: set[str] = set().union(*due.values())
            self._known.forget(people)
            emitted: list[Event] = []
            if people:
                tx.profiles.touch(people)
                # Every segment, not just the one whose edge passed: others may refer to it.
                work = Work.of([s.key for s in self._pipeline.segments], frozenset(people))
                origin = f"timers@{now.isoformat()}#{tx.log.last_seq()}"
                emitted += self._evaluate(tx, work, now, origin)
            composer = self._pipeline.composer
            fired = self._loader.fire_schedules(tx, partition, now) if scheduled else None
            if fired is not None:
                emitted += apply(tx, self._loader.finish(tx, fired, {}, composer, now))
            if partition.index == 0:  # one processor targets broadcasts for everyone
                emitted += apply(tx, self._loader.target_broadcasts(tx, now))
            recipients = tx.broadcasts.claim_due(now, limit, partition)
            if recipients:
                owners = {r.profile_id for r in recipients}
                profiles = tx.profiles.load(owners)
                effects = self._loader.send_broadcasts(tx, recipients, profiles, composer, now)
                emitted += apply(tx, effects)
            waking = tx.journeys.claim_due(now, limit, partition)
            if waking:
                owners = {i.profile_id for i in waking}
                self._known.forget(owners)
                tx.profiles.touch(owners)
                profiles = tx.profiles.load(owners)
                advanced = self._loader.on_wake(tx, waking, profiles, now)
                emitted += apply(tx, self._loader.finish(tx, advanced, profiles, composer, now))
            tx.log.append(emitted)  # last: see processor/apply.py
            fired_count = len(fired.instances) if fired else 0
            return len(people) + len(waking) + len(recipients) + fired_count

    def run_until_idle(self, partitions: Collection[Partition] = (EVERYTHING,)) -> int:
        """Process the partitions' logs to their end and run due timers; return events
        processed."""
        total = 0
        while True:
            done = sum(self.process_batch(p) for p in partitions)
            woke = sum(self.run_timers(p) for p in partitions)
            total += done
            if done == 0 and woke == 0:
                return total


def _historic_people(folded: Folded) -> frozenset[str]:
    """People whose every event in the batch is imported history."""
    live = {pid for pid, event in folded.inputs if not is_historic(event)}
    return frozenset(pid for pid, _ in folded.inputs if pid not in live)


def _marked(effect: EmitEvents, historic: frozenset[str]) -> EmitEvents:
    def mark(event: Event) -> Event:
        pid = event.user_id or f"anon:{event.anonymous_id}"
        if pid not in historic:
            return event
        return replace(event, context={**event.context, **HISTORIC_CONTEXT})

    return EmitEvents([mark(e) for e in effect.events])
