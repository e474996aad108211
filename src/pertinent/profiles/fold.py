"""Folding one event into a person's state."""

from __future__ import annotations

from pertinent.events.model import Event
from pertinent.profiles.computed import EMAIL_ACTIONS, SYSTEM_ACTIONS, fold_event
from pertinent.profiles.state import ProfileState


def apply_event(state: ProfileState, event: Event) -> None:
    """Fold `event` into `state`: traits from identify, counters from actions, first/last seen."""
    if event.type == "identify":
        for key, value in event.traits.items():
            state.set_trait(key, value, event.timestamp)
    elif event.type == "group" and event.group_id is not None:
        # The group's traits stay on the person, by group (Segment spec: group).
        groups = state.traits.get("groups")
        merged = dict(groups) if isinstance(groups, dict) else {}
        merged[event.group_id] = {**merged.get(event.group_id, {}), **event.traits}
        state.set_trait("groups", merged, event.timestamp)
    if event.action not in SYSTEM_ACTIONS | EMAIL_ACTIONS and event.type != "alias":
        state.seen(event.timestamp)
    fold_event(state.computed, event)
