"""Profiles, identities and per-person event attribution in memory."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from pertinent.profiles.rfm import RFM_SCORE, Customer
from pertinent.profiles.state import ProfileState
from pertinent.segments.evaluate import PersonEvent
from pertinent.storage.memory.state import Attribution, State, json_value, stored_profile, utc
from pertinent.storage.ports import AttributedEvent, ConcurrentUpdate, partition_key


def events_of(state: State, profile_id: str, identities: Iterable[tuple[str, str]]) -> list[int]:
    """The seqs of the person's log events: those attributed to them, and those naming one of
    their ids (bot-flagged, or not processed yet), as in the SQL adapter."""
    ids = {profile_id, *(value for _kind, value in identities)}
    attributed = {s for s, row in state.profile_events.items() if row.profile_id == profile_id}
    return [
        seq
        for seq, e in state.events.items()
        if seq in attributed or e.user_id in ids or e.anonymous_id in ids or e.previous_id in ids
    ]


class MemoryProfileStore:
    def __init__(self, state: State):
        self._state = state

    def load(self, profile_ids: Iterable[str]) -> dict[str, ProfileState]:
        profiles = self._state.profiles
        return {
            pid: stored_profile(profiles[pid], profiles[pid].version)
            for pid in set(profile_ids)
            if pid in profiles
        }

    def save(self, states: Iterable[ProfileState]) -> None:
        """Like the SQL adapter, every save that can be made is made before the conflict is
        raised, and no caller's version moves unless all of them were stored."""
        states = list(states)
        profiles = self._state.profiles
        lost = False
        for s in states:
            stored = profiles.get(s.profile_id)
            fresh = (
                stored is None
                if s.version == 0
                else stored is not None and stored.version == s.version
            )
            if fresh:
                profiles[s.profile_id] = stored_profile(s, s.version + 1)
            else:
                lost = True
        if lost:
            raise ConcurrentUpdate("a profile was saved by another writer since it was loaded")
        for s in states:
            s.version += 1

    def touch(self, profile_ids: Collection[str]) -> None:
        for pid in profile_ids:
            if pid in self._state.profiles:
                self._state.profiles[pid].version += 1

    def resolve_many(self, kind: str, values: Iterable[str]) -> dict[str, str]:
        identities = self._state.identities
        return {v: identities[(kind, v)] for v in set(values) if (kind, v) in identities}

    def resolve(self, kind: str, value: str) -> str | None:
        return self._state.identities.get((kind, value))

    def link(self, links: Iterable[tuple[str, str, str]]) -> None:
        identities = self._state.identities
        taken = False
        for kind, value, profile_id in links:
            if (kind, value) in identities:
                taken = True
            else:
                identities[(kind, value)] = profile_id
        if taken:
            raise ConcurrentUpdate("an identity was linked by another writer first")

    def identities(self, profile_id: str) -> list[tuple[str, str]]:
        return sorted(key for key, pid in self._state.identities.items() if pid == profile_id)

    def record(self, rows: Sequence[AttributedEvent]) -> None:
        """Time and properties are the log's, as in SQL (a seq the log lacks is a race lost). A
        seq attributed twice is a unique key taken, which PostgreSQL reports as a race lost
        (`storage.sql.dialect.is_conflict`)."""
        attributed = self._state.profile_events
        for seq, pid, action, _at, _properties in rows:
            if seq in attributed:
                raise ConcurrentUpdate(f"event {seq} is already attributed")
            event = self._state.events.get(seq)
            if event is None:
                raise ConcurrentUpdate(f"event {seq} was erased from the log since it was read")
            attributed[seq] = Attribution(
                pid, action, utc(event.timestamp), json_value(event.properties)
            )

    def merge(self, loser: str, winner: str, loser_version: int) -> None:
        """The loser's segment memberships stay theirs, as history (the fold phase ends the
        open ones before it merges), as in the SQL adapter."""
        state = self._state
        if loser_version:
            stored = state.profiles.get(loser)
            if stored is None or stored.version != loser_version:
                raise ConcurrentUpdate(f"profile {loser!r} changed before it could merge")
            del state.profiles[loser]
        for key, pid in state.identities.items():
            if pid == loser:
                state.identities[key] = winner
        for row in state.profile_events.values():
            if row.profile_id == loser:
                row.profile_id = winner
        for instance in state.instances.values():
            if instance.instance.profile_id == loser:
                instance.instance = replace(instance.instance, profile_id=winner)
                instance.pkey = partition_key(winner)
        for email in state.outbox.values():
            if email.item.profile_id == loser:
                email.item = replace(email.item, profile_id=winner)
        for call in state.webhook_calls.values():
            if call.call.profile_id == loser:
                call.call = replace(call.call, profile_id=winner)
        for (broadcast_id, pid), recipient in list(state.recipients.items()):
            if pid == loser:
                del state.recipients[(broadcast_id, pid)]
                # One row per person and broadcast: the winner's stays if they have one.
                recipient.pkey = partition_key(winner)
                state.recipients.setdefault((broadcast_id, winner), recipient)
        for suppression in state.suppressions.values():
            if suppression.profile_id == loser:
                suppression.profile_id = winner
        state.timers = {k: due for k, due in state.timers.items() if k[1] != loser}
        state.consent = [
            replace(c, profile_id=winner) if c.profile_id == loser else c for c in state.consent
        ]
        for item_id, describer in state.product_describers.items():
            if describer == loser:
                state.product_describers[item_id] = winner

    def actions(self, names: Sequence[str]) -> list[tuple[str, str, datetime, dict[str, Any]]]:
        wanted = set(names)
        return [
            (row.profile_id, row.action, row.timestamp, json_value(row.properties))
            for _seq, row in sorted(self._state.profile_events.items())
            if row.action is not None and row.action in wanted
        ]

    def events_of(
        self, profile_ids: Collection[str], actions: Collection[str]
    ) -> dict[str, list[PersonEvent]]:
        wanted, names = set(profile_ids), set(actions)
        found: dict[str, list[PersonEvent]] = {}
        rows = sorted(
            (row.timestamp, seq, row)
            for seq, row in self._state.profile_events.items()
            if row.profile_id in wanted and row.action in names
        )
        for at, _seq, row in rows:
            found.setdefault(row.profile_id, []).append(
                PersonEvent(row.action, at, json_value(row.properties))
            )
        return found

    def ids_after(self, after: str | None, limit: int) -> list[str]:
        ids = sorted(pid for pid in self._state.profiles if after is None or pid > after)
        return ids[:limit]

    def customers(self, after: str | None, limit: int) -> list[Customer]:
        found = []
        for pid in sorted(self._state.profiles):
            computed = self._state.profiles[pid].computed
            last, orders = computed.get("last_order_at"), computed.get("orders")
            if (after is not None and pid <= after) or not isinstance(last, str):
                continue
            if isinstance(orders, int) and orders > 0:
                score = computed.get(RFM_SCORE)
                found.append(
                    Customer(
                        pid,
                        datetime.fromisoformat(last),
                        orders,
                        float(computed.get("revenue") or 0),
                        score if isinstance(score, str) else None,
                    )
                )
                if len(found) == limit:
                    break
        return found

    def erase(self, profile_id: str) -> int:
        """Everything about the person goes, including log events never attributed to them
        (bot-flagged, or not processed yet), found by their ids. Their suppression stays, no
        longer tied to a profile: an address that unsubscribed must not be mailed again when
        it is re-imported."""
        state = self._state
        erased = events_of(state, profile_id, self.identities(profile_id))
        attributed = {s for s, row in state.profile_events.items() if row.profile_id == profile_id}
        for seq in erased:
            del state.message_ids[state.events.pop(seq).message_id]
        for suppression in state.suppressions.values():
            if suppression.profile_id == profile_id:
                suppression.profile_id = None
        for seq in attributed:
            del state.profile_events[seq]
        state.identities = {k: p for k, p in state.identities.items() if p != profile_id}
        state.memberships = [m for m in state.memberships if m.profile_id != profile_id]
        state.timers = {k: due for k, due in state.timers.items() if k[1] != profile_id}
        state.instances = {
            k: row for k, row in state.instances.items() if row.instance.profile_id != profile_id
        }
        state.outbox = {
            i: row for i, row in state.outbox.items() if row.item.profile_id != profile_id
        }
        state.webhook_calls = {
            i: row for i, row in state.webhook_calls.items() if row.call.profile_id != profile_id
        }
        state.recipients = {k: r for k, r in state.recipients.items() if k[1] != profile_id}
        state.consent = [c for c in state.consent if c.profile_id != profile_id]
        for item_id in [i for i, p in state.product_describers.items() if p == profile_id]:
            del state.product_describers[item_id]
            del state.products[item_id]
        state.profiles.pop(profile_id, None)
        return len(erased)
