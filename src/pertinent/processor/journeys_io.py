"""The journeys phase's reads and writes: what the engine is handed, in one query per concern,
and its decisions turned into effects (instances, webhooks, counts, then compose).

Kept apart from the engine (`journeys.py`), which stays pure, and from the batch loop
(`batch.py`), which only decides when the phase runs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from pertinent.events.model import Event
from pertinent.journeys.broadcasts import EARLIEST_OFFSET, Recipient, schedule
from pertinent.journeys.caps import SendPolicy
from pertinent.journeys.model import Instance
from pertinent.journeys.timing import next_fire
from pertinent.journeys.versions import JourneySet
from pertinent.privacy.consent import by_person
from pertinent.processor.broadcasts import on_due
from pertinent.processor.compose import Composer, Request, addresses, recipients
from pertinent.processor.effects import (
    CountSteps,
    DelayRecipients,
    Effect,
    EnqueueWebhooks,
    RecordOutcomes,
    SaveInstances,
    TargetBroadcast,
)
from pertinent.processor.journeys import (
    Advanced,
    Context,
    JourneyState,
    is_historic,
    on_events,
    on_schedule,
    on_wake,
    triggers,
)
from pertinent.profiles.custom import custom_values, with_custom
from pertinent.profiles.state import ProfileState
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.language import Condition
from pertinent.storage.ports import Partition, Transaction, partition_key


def condition_actions(cond: Condition, segments: Mapping[str, Condition]) -> set[str]:
    """The event names a condition (and the segments it refers to) looks at. Read from the
    tree's data, so a node type added to the language is covered as long as it names its
    events `event`."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("event"), str):
                found.add(node["event"])
            if node.get("type") == "in_segment" and node.get("segment") in segments:
                walk(segments[node["segment"]].model_dump())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(cond.model_dump())
    return found


class JourneyLoader:
    def __init__(self, journeys: JourneySet, policy: SendPolicy, segments: SegmentSet):
        self.journeys = journeys
        self.policy = policy
        self._segments = segments.conditions
        self._custom = segments.profiles.computed
        self._actions: set[str] = set()
        self._caps_window = policy.window()
        for version in journeys.all():
            definition = version.definition
            for _path, cond in definition.conditions():
                self._actions |= condition_actions(cond, self._segments)
            self._caps_window = max(self._caps_window, self.policy.window(definition.caps))

    def context(
        self,
        tx: Transaction,
        people: Collection[str],
        profiles: Mapping[str, ProfileState],
        back_to: Sequence[datetime],
        now: datetime,
    ) -> Context:
        """The people's events (for conditions) and the emails they got as far back as caps
        look, and `back_to` (when their instances started: for duplicates)."""
        since = min([now - self._caps_window, *back_to])
        sent: dict[str, list[Any]] = defaultdict(list)
        for record in tx.outbox.history(people, since):
            sent[record.profile_id].append(record)
        events = tx.profiles.events_of(people, self._actions) if self._actions else {}
        return Context(profiles, events, dict(sent), self._segments)

    def on_events(
        self,
        tx: Transaction,
        inputs: Sequence[tuple[str, Event]],
        merged: Collection[str],
        profiles: Mapping[str, ProfileState],
        now: datetime,
    ) -> Advanced:
        people = {pid for pid, _ in inputs} | set(merged)
        active: dict[str, list[Instance]] = defaultdict(list)
        for inst in tx.journeys.active(people):
            active[inst.profile_id].append(inst)
        live = self.journeys.live()
        starting = {
            pid
            for pid, event in inputs
            if not is_historic(event)
            and any(triggers(v, event) for v in self.journeys.starting_on(event.action))
        }
        goals = {g.event: g.within for v in self.journeys.all() if (g := v.definition.goal)}
        windows = [goals[e.action] for _, e in inputs if e.action in goals]
        if not starting and not active and not windows:
            # Nobody starts, waits or converts: only bounces remain to count.
            empty = JourneyState({})
            return on_events(self.journeys, self.policy, empty, Context(), inputs, merged, now)
        last = tx.journeys.last_entered([v.key for v in live], starting)
        recent: dict[str, list[Instance]] = defaultdict(list)
        if windows:
            for inst in tx.journeys.ended_since(people, now - max(windows)):
                recent[inst.profile_id].append(inst)
        started = [i.started_at for group in active.values() for i in group]
        context = self.context(tx, people, profiles, started, now)
        state = JourneyState(dict(active), last, dict(recent))
        return on_events(self.journeys, self.policy, state, context, inputs, merged, now)

    def on_wake(
        self,
        tx: Transaction,
        due: Sequence[Instance],
        profiles: Mapping[str, ProfileState],
        now: datetime,
    ) -> Advanced:
        people = {i.profile_id for i in due}
        context = self.context(tx, people, profiles, [i.started_at for i in due], now)
        return on_wake(self.journeys, self.policy, context, due, now)

    def schedules_due(self, tx: Transaction, partition: Partition, now: datetime) -> bool:
        """Whether a scheduled journey is due in the partition (or has no time set yet)."""
        keys = [
            f"{v.key}@{partition.cursor}"
            for v in self.journeys.live()
            if v.definition.trigger.type == "schedule"
        ]
        if not keys:
            return False
        found = tx.journeys.schedules()
        return any(key not in found or found[key] <= now for key in keys)

    def fire_schedules(
        self, tx: Transaction, partition: Partition, now: datetime
    ) -> Advanced | None:
        """Scheduled journeys whose time came, for the partition's people: each member of
        the journey's segment enters; the next time is set. None when none was due."""
        found = tx.journeys.schedules()
        fired: list[Advanced] = []
        for version in self.journeys.live():
            trigger = version.definition.trigger
            if trigger.type != "schedule":
                continue
            key = f"{version.key}@{partition.cursor}"
            due = found.get(key)
            if due is None:
                tx.journeys.set_schedule(key, next_fire(trigger.cron, trigger.timezone, now))
                continue
            if due > now:
                continue
            tx.journeys.set_schedule(key, next_fire(trigger.cron, trigger.timezone, now))
            members = tx.segments.matching(
                {trigger.segment: self._segments[trigger.segment], **self._segments},
                {trigger.segment: None},
                now,
            ).get(trigger.segment, set())
            people = sorted(p for p in members if partition.owns(partition_key(p)))
            if not people:
                continue
            active: dict[str, list[Instance]] = defaultdict(list)
            for inst in tx.journeys.active(people):
                active[inst.profile_id].append(inst)
            last = tx.journeys.last_entered([version.key], people)
            state = JourneyState(dict(active), last)
            context = Context(segments=self._segments)
            fired.append(
                on_schedule(self.journeys, self.policy, state, context, version, people, due, now)
            )
        if not fired:
            return None
        return Advanced(
            [i for a in fired for i in a.instances],
            [e for a in fired for e in a.timeline],
            [],
            sum((a.counts for a in fired), start=fired[0].counts.__class__()),
        )

    def target_broadcasts(self, tx: Transaction, now: datetime) -> list[Effect]:
        """Broadcasts whose time came: their segment's members now become recipients."""
        effects: list[Effect] = []
        for broadcast in tx.broadcasts.due(now, EARLIEST_OFFSET):
            members: set[str] = set()
            if broadcast.segment in self._segments:
                members = tx.segments.matching(self._segments, {broadcast.segment: None}, now).get(
                    broadcast.segment, set()
                )
            profiles = tx.profiles.load(members) if broadcast.local_time else {}
            recipients = schedule(broadcast, list(members), profiles, self.policy.default_zone, now)
            effects.append(TargetBroadcast(broadcast.id, recipients))
        return effects

    def send_broadcasts(
        self,
        tx: Transaction,
        recipients: Sequence[Recipient],
        profiles: Mapping[str, ProfileState],
        composer: Composer,
        now: datetime,
    ) -> list[Effect]:
        """Due recipients: sent, held for the morning, or skipped, each outcome recorded."""
        broadcasts = tx.broadcasts.get({r.broadcast_id for r in recipients})
        started = [b.send_at - EARLIEST_OFFSET for b in broadcasts.values()]
        people = {r.profile_id for r in recipients}
        context = self.context(tx, people, profiles, started, now)
        decided = on_due(broadcasts, recipients, self.policy, context, now)
        effects: list[Effect] = [RecordOutcomes(decided.outcomes), DelayRecipients(decided.later)]
        return effects + self._compose(tx, decided.sends, profiles, composer, now)

    def finish(
        self,
        tx: Transaction,
        advanced: Advanced,
        profiles: Mapping[str, ProfileState],
        composer: Composer,
        now: datetime,
    ) -> list[Effect]:
        effects: list[Effect] = [
            SaveInstances(advanced.instances),
            EnqueueWebhooks(advanced.webhooks),
            CountSteps(advanced.counts),
        ]
        return effects + self._compose(tx, advanced.timeline, profiles, composer, now)

    def _compose(
        self,
        tx: Transaction,
        requests: Sequence[Event | Request],
        profiles: Mapping[str, ProfileState],
        composer: Composer,
        now: datetime,
    ) -> list[Effect]:
        """The compose phase, with the suppressions and consent of the people it sends to."""
        wanted = addresses(requests, profiles)
        reasons = tx.suppressions.reasons(wanted) if wanted else {}
        sending = recipients(requests)
        if self._custom and sending:  # what a template shows of them, as of now
            profiles = with_custom(profiles, custom_values(self._custom, tx.profiles, sending, now))
        consent = by_person(tx.consent.history(sending)) if sending else {}
        segments: dict[str, set[str]] = defaultdict(set)  # for `profile.segments`
        for key, members in (tx.segments.current(sending) if sending else {}).items():
            for pid in members:
                segments[pid].add(key)
        return composer.compose(requests, profiles, reasons, now, consent, segments)
