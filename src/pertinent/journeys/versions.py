"""Journey versions: each change to a journey's definition is a new version, kept in the store.

An instance runs on the version it started on; new entries take the newest. A version that
says `migrate: {old_step: new_step}` moves the instances of older versions waiting at
`old_step` to its own `new_step` (the time they spent at the old step counts toward the new
one). A journey removed from the workspace ends its instances with reason `journey removed`.
So an edit can re-target nobody by accident, and nothing an edit does can crash the engine:
an instance whose version or step cannot be found exits with the reason, and the rest goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, assert_never

from pydantic import ValidationError

from pertinent.journeys.graph import Graph
from pertinent.journeys.model import (
    EventTrigger,
    JourneyDefinition,
    ScheduleTrigger,
    SegmentEnteredTrigger,
    SegmentExitedTrigger,
    WaitForEventStep,
)
from pertinent.storage.ports import JourneyStore

log = logging.getLogger("pertinent.journeys")


@dataclass(frozen=True)
class Version:
    key: str
    number: int
    definition: JourneyDefinition
    graph: Graph


class JourneySet:
    """Every stored version, and which is live for each journey in the workspace."""

    def __init__(self, versions: Iterable[Version], live: Mapping[str, int]):
        self._versions = {(v.key, v.number): v for v in versions}
        self._live = dict(live)
        # Live versions by the action that can start them: most events start nothing, and
        # the journeys phase sees every event of interest.
        self._starters: dict[str | None, list[Version]] = {}
        for version in self.live():
            trigger = version.definition.trigger
            action = trigger.event if isinstance(trigger, EventTrigger) else trigger.type
            self._starters.setdefault(action, []).append(version)

    @classmethod
    def of(cls, definitions: Sequence[JourneyDefinition]) -> JourneySet:
        """Each definition as its journey's version 1 (no store: engine tests, tools)."""
        return cls(
            [Version(d.key, 1, d, Graph(d)) for d in definitions], {d.key: 1 for d in definitions}
        )

    def latest(self, key: str) -> Version | None:
        number = self._live.get(key)
        return self._versions.get((key, number)) if number is not None else None

    def get(self, key: str, number: int) -> Version | None:
        return self._versions.get((key, number))

    def starting_on(self, action: str | None) -> list[Version]:
        """The live versions whose trigger is this action (a schedule's: `schedule`)."""
        return self._starters.get(action, [])

    def live(self) -> list[Version]:
        return [v for key in self._live if (v := self.latest(key)) is not None]

    def all(self) -> list[Version]:
        return list(self._versions.values())

    def interest(self) -> set[str]:
        """Every action a journey can react to: triggers, exits, awaited events, goals, and
        delivery outcomes (counted per step)."""
        found = {"email_bounced"}
        for version in self.all():
            journey = version.definition
            trigger = journey.trigger
            match trigger:
                case EventTrigger():
                    found.add(trigger.event)
                case SegmentEnteredTrigger():
                    found.add("segment_entered")
                case SegmentExitedTrigger():
                    found.add("segment_exited")
                case ScheduleTrigger():
                    pass
                case _:
                    assert_never(trigger)
            found.update(m.event for m in journey.exit_events)
            found.update(s.event for s in journey.steps if isinstance(s, WaitForEventStep))
            if journey.goal is not None:
                found.add(journey.goal.event)
        return found


def stored_form(definition: JourneyDefinition) -> dict[str, Any]:
    """The definition as JSON that validates back into the same definition: durations as
    seconds and times of day as text (pydantic's own JSON writes ISO 8601 durations, which
    the workspace's duration fields do not read)."""

    def plain(value: Any) -> Any:
        if isinstance(value, timedelta):
            return value.total_seconds()
        if isinstance(value, time):
            return value.isoformat()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    body: dict[str, Any] = plain(definition.model_dump(by_alias=True, exclude_none=True))
    return body


def _version(key: str, number: int, body: Mapping[str, Any]) -> Version | None:
    try:
        definition = JourneyDefinition.model_validate(body)
    except ValidationError as exc:
        # Written by an older release with other rules: its instances exit when they wake.
        log.warning("journey %s version %d no longer loads: %s", key, number, exc)
        return None
    return Version(key, number, definition, Graph(definition))


def register(
    store: JourneyStore, definitions: Sequence[JourneyDefinition], now: datetime
) -> JourneySet:
    """Record each definition that differs from its journey's newest stored version as a new
    version, wake the instances it migrates and those of removed journeys, and return every
    version with the live ones marked."""
    stored = store.versions()
    newest: dict[str, tuple[int, str]] = {}
    versions: list[Version] = []
    for key, number, digest, body in stored:
        if number > newest.get(key, (0, ""))[0]:
            newest[key] = (number, digest)
        if (found := _version(key, number, body)) is not None:
            versions.append(found)
    live: dict[str, int] = {}
    for definition in definitions:
        number, digest = newest.get(definition.key, (0, ""))
        if digest != definition.digest():
            number += 1
            body = stored_form(definition)
            store.add_version(definition.key, number, definition.digest(), body, now)
            versions.append(Version(definition.key, number, definition, Graph(definition)))
            if definition.migrate:
                store.wake(definition.key, sorted(definition.migrate), number, now)
        live[definition.key] = number
    for key in newest.keys() - live.keys():
        store.wake(key, None, newest[key][0] + 1, now)
    return JourneySet(versions, live)
