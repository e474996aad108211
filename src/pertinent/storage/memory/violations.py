"""Tracking-plan violation counts in memory."""

from __future__ import annotations

from collections.abc import Sequence

from pertinent.storage.memory.state import State, utc
from pertinent.storage.ports import Violation, ViolationCount, tally


class MemoryViolations:
    def __init__(self, state: State):
        self._state = state

    def add(self, violations: Sequence[Violation]) -> None:
        for key, (count, first, last) in tally(violations).items():
            old = self._state.violations.get(key)
            if old is not None:
                count, first, last = old[0] + count, old[1], max(old[2], utc(last))
            self._state.violations[key] = (count, utc(first), utc(last))

    def counts(self) -> list[ViolationCount]:
        rows = [
            ViolationCount(event, field, rejected, count, first, last)
            for (event, field, rejected), (count, first, last) in self._state.violations.items()
        ]
        return sorted(rows, key=lambda r: (-r.count, r.event, r.field, r.rejected))
