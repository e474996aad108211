"""Erasing a person from every store: profile, identities, their events in the log, segment
history, journeys, outbox, consent history, the catalogue rows only their events described
(a product other people's events name too is shared, and stays), and what every process's
recommendation model learned of them; then the storage's files are made to forget what was
deleted (on SQLite: zeroed pages and a truncated WAL).

What stays: an address they unsubscribed stays suppressed, without a profile
(docs/decisions.md), and the erasure is recorded by a hash of their id until every loaded
model has forgotten them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pertinent.errors import NotFoundError
from pertinent.recommend.artefacts import ModelSync, erasure_key
from pertinent.recommend.interactions import EVENT_KINDS
from pertinent.recommend.serve import RecommendationService
from pertinent.recommend.source import interactions_from_actions
from pertinent.storage.ports import Storage

log = logging.getLogger("pertinent.privacy")


def _mentioned_by_others(storage: Storage, pid: str, described: list[str]) -> set[str]:
    """Of the catalogue rows the person described last, those other people's e-commerce
    events name too: shared products, which stay. Only these few rows are looked for, but in
    every e-commerce event (as a training reads them); an erasure is rare."""
    if not described:
        return set()
    with storage.snapshot() as tx:
        rows = tx.profiles.actions(list(EVENT_KINDS))
    wanted = set(described)
    return {
        i.item_id
        for i in interactions_from_actions(r for r in rows if r[0] != pid)
        if i.item_id in wanted
    }


def erase_person(
    storage: Storage,
    recommendations: RecommendationService,
    models: ModelSync,
    user_id: str,
    now: datetime,
) -> int:
    """Erase the person known by `user_id` (a user or anonymous id); return events erased.

    This process's model forgets them at once, the stored models are published again without
    them, and the other processes' models forget them at their next poll.
    """
    found = storage.reads.find(user_id)
    record = storage.reads.person(found) if found is not None else None
    described = record.described if record is not None else []
    shared = _mentioned_by_others(storage, found, described) if found else set()
    with storage.transaction() as tx:
        pid = tx.profiles.resolve("user", user_id) or tx.profiles.resolve("anon", user_id)
        if pid is None:
            raise NotFoundError(f"no profile for {user_id!r}", where="user_id")
        tx.products.share(shared)
        erased = tx.profiles.erase(pid)
        tx.artefacts.record_erasure(erasure_key(pid), now)
    theirs = [item for item in described if item not in shared]
    recommendations.forget_user(pid, theirs)
    models.scrub(pid, theirs, now)
    if not storage.forget_deleted():
        log.warning("erased %s, but the database could not yet drop the old copies", user_id)
    return erased
