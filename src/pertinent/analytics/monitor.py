"""What the dashboard watches of the data coming in: how fast events arrive, and what is
wrong with them (bots, flags, tracking-plan violations).

Bots and flags are counted over the newest events of the log (a window of a fixed size, so
the page costs the same on a log of any length); tracking-plan violations are the store's
running counts, since a rejected event never reaches the log to be counted there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from pertinent.storage.ports import ReadModel, ViolationCount

MINUTE = timedelta(minutes=1)
QUALITY_WINDOW = 10_000  # the newest events examined for bots and flags
_AGENT = 120  # characters of a bot's user agent shown


@dataclass(frozen=True)
class Arrivals:
    """Events that arrived per minute, the oldest minute first; each minute ends at
    `starts[i] + MINUTE`, and the last one ends now."""

    starts: list[datetime]
    counts: list[int]

    @property
    def last_minute(self) -> int:
        return self.counts[-1] if self.counts else 0


def arrivals_per_minute(reads: ReadModel, now: datetime, minutes: int = 15) -> Arrivals:
    """The events that arrived in each of the last `minutes` minutes up to `now`."""
    edges = [now - (minutes - i) * MINUTE for i in range(minutes + 1)]
    return Arrivals(edges[:-1], reads.arrivals(edges))


@dataclass(frozen=True)
class Quality:
    examined: int  # how many of the newest events were looked at
    bots: int
    bot_agents: list[tuple[str, int]]  # (user agent, events), the most frequent first
    flagged: int  # events with at least one flag
    flags: list[tuple[str, int]]  # (flag kind, events), the most frequent first
    violations: list[ViolationCount]
    rejected_by_plan: int
    flagged_by_plan: int


def data_quality(reads: ReadModel, window: int = QUALITY_WINDOW) -> Quality:
    """Bots and flags among the newest `window` events, and the tracking-plan counts."""
    events = [e.event for e in reads.recent_events(window)]
    agents: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for event in events:
        if event.is_bot:
            agent = event.context.get("userAgent")
            agents[agent[:_AGENT] if isinstance(agent, str) else "(none)"] += 1
        kinds.update({flag.kind for flag in event.flags})
    violations = reads.violations()
    return Quality(
        examined=len(events),
        bots=sum(agents.values()),
        bot_agents=agents.most_common(20),
        flagged=sum(1 for e in events if e.flags),
        flags=kinds.most_common(),
        violations=violations,
        rejected_by_plan=sum(v.count for v in violations if v.rejected),
        flagged_by_plan=sum(v.count for v in violations if not v.rejected),
    )
