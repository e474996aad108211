"""Per-domain rate limits: how many messages each receiving domain gets per second.

Mailbox providers throttle or refuse a sender that arrives too fast, each by its own measure,
so the limit is per recipient domain (`gmail.com: 20`), with an optional `"*"` that every
other domain gets on its own. A generic cell rate algorithm: a domain with rate r takes a
message every 1/r s on average, and a burst of up to one second's worth at once.

Pure, with explicit `now`; the sender keeps one per process, so with several sender
processes each gets the full rate (divide the figures by their number).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta


class DomainLimits:
    def __init__(self, per_second: Mapping[str, float]):
        self._rates = {domain.lower(): rate for domain, rate in per_second.items()}
        self._default = self._rates.pop("*", None)
        self._theoretical: dict[str, datetime] = {}  # when the domain's next slot is due
        self._promised: dict[str, datetime] = {}  # the last retry time handed out

    def admit(self, domain: str, now: datetime) -> datetime | None:
        """None when a message to `domain` may go now (its slot is taken); otherwise when to
        try again, spread one interval apart for the messages refused one after another."""
        domain = domain.lower()
        rate = self._rates.get(domain, self._default)
        if rate is None:
            return None
        interval = timedelta(seconds=1 / rate)
        burst = interval * max(rate - 1, 0)
        due = max(self._theoretical.get(domain, now), now)
        if due - now > burst:
            retry = max(due - burst, self._promised.get(domain, now) + interval)
            self._promised[domain] = retry
            return retry
        self._theoretical[domain] = due + interval
        return None
