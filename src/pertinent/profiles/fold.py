"""Folding one event into a person's state."""

from __future__ import annotations

from pertinent.events.model import Event
from pertinent.profiles.computed import SYSTEM_ACTIONS, fold_event, machine_made
from pertinent.profiles.state import ProfileState


def apply_event(state: ProfileState, event: Event) -> None:
    """Fold `event` into `state`: traits from identify, counters from actions, first/last seen."""
    if event.type == "identify":
        for key, value in event.traits.items():
            state.set_trait(key, value, event.timestamp)
    if event.action not in SYSTEM_ACTIONS and event.type != "alias" and not machine_made(event):
        state.seen(event.timestamp)
    fold_event(state.computed, event)
