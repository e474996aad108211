"""Which of an address's suppressions speaks for it.

An address keeps each reason it was suppressed for (an unsubscribe, a complaint, a hard
bounce). The one it answers with is the one that stops the most mail: a hard bounce, which
even transactional email respects (the mailbox does not exist), else the oldest reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

HARD_BOUNCE = "bounced"


def strongest(held: Iterable[tuple[datetime, str]]) -> str:
    """The reason to answer with among (when recorded, reason) pairs (at least one)."""
    ordered = sorted(held)
    return HARD_BOUNCE if any(r == HARD_BOUNCE for _, r in ordered) else ordered[0][1]
