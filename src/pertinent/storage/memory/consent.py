"""Consent history in memory."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from pertinent.privacy.consent import ConsentChange
from pertinent.storage.memory.state import State, utc


class MemoryConsentStore:
    def __init__(self, state: State):
        self._state = state

    def record(self, changes: Sequence[ConsentChange]) -> None:
        self._state.consent.extend(replace(c, at=utc(c.at)) for c in changes)

    def history(self, profile_ids: Collection[str]) -> list[ConsentChange]:
        wanted = set(profile_ids)
        return [c for c in self._state.consent if c.profile_id in wanted]
