"""Erasing a person from every store: profile, identities, their events in the log, segment
history, journeys, outbox, and what every process's recommendation model learned of them."""

from __future__ import annotations

from datetime import datetime

from pertinent.errors import NotFoundError
from pertinent.recommend.serve import RecommendationService
from pertinent.storage.ports import Storage


def erase_person(
    storage: Storage, recommendations: RecommendationService, user_id: str, now: datetime
) -> int:
    """Erase the person known by `user_id` (a user or anonymous id); return events erased.

    The erasure is recorded for the other processes' models (see `recommend.artefacts`); this
    process's model forgets the person at once.
    """
    with storage.transaction() as tx:
        pid = tx.profiles.resolve("user", user_id) or tx.profiles.resolve("anon", user_id)
        if pid is None:
            raise NotFoundError(f"no profile for {user_id!r}", where="user_id")
        erased = tx.profiles.erase(pid)
        tx.artefacts.record_erasure(pid, now)
    recommendations.forget_user(pid)
    return erased
