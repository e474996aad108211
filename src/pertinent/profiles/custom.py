"""The workspace's custom computed properties (`profiles.computed` in pertinent.yaml), as a
person's profile shows them: templates' `profile.computed.<key>` and the profile API.

A custom property is a function over the person's events of a window, so it changes with the
clock: it is worked out when it is read, from the person's events, by the same evaluator
that a segment's condition on it is held to (`segments.evaluate.aggregate_value`). A function
of nothing (the average, minimum, maximum or last value of no events) reads as null.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from pertinent.profiles.settings import ComputedProperty
from pertinent.profiles.state import ProfileState
from pertinent.segments.evaluate import MISSING, aggregate_value
from pertinent.storage.ports import ProfileStore


def custom_values(
    properties: Sequence[ComputedProperty],
    profiles: ProfileStore,
    people: Collection[str],
    now: datetime,
) -> dict[str, dict[str, Any]]:
    """Each person's custom computed properties at `now`, by person (everyone asked about
    is there, with every property)."""
    if not properties or not people:
        return {pid: {} for pid in people}
    events = profiles.events_of(people, {p.event for p in properties})
    out: dict[str, dict[str, Any]] = {}
    for pid in people:
        values = {p.key: aggregate_value(p, events.get(pid, []), now) for p in properties}
        out[pid] = {k: None if v is MISSING else v for k, v in values.items()}
    return out


def with_custom(
    profiles: Mapping[str, ProfileState], values: Mapping[str, Mapping[str, Any]]
) -> dict[str, ProfileState]:
    """The states, those of the people in `values` copied with their custom properties
    among the computed ones, to read (never to save: they are not stored)."""
    copies = {
        pid: replace(profiles[pid], computed={**profiles[pid].computed, **custom})
        for pid, custom in values.items()
        if pid in profiles
    }
    return {**profiles, **copies}
