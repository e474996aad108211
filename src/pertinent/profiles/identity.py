"""Identity resolution: which profile an event belongs to, and when two profiles merge.

Rules (order-independent, so replays and retries give the same graph):
- A profile with a user id is keyed by it; an anonymous-only profile by "anon:<anonymousId>".
- An event carrying a user id and an anonymous id links them; if the anonymous id already has
  an anonymous-only profile, that profile merges into the user's.
- An anonymous id already linked to another *known* user is not re-linked (a shared device must
  not fuse two customers); the first link wins.
- `alias` merges the profile of `previousId` (a user id or an anonymous id) into `userId`'s,
  even when both are known: that is what alias is for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pertinent.events.model import Event
from pertinent.profiles.state import anonymous_profile_id, is_anonymous


class IdentityStore(Protocol):
    def resolve(self, kind: str, value: str) -> str | None: ...

    def resolve_many(self, kind: str, values: Iterable[str]) -> dict[str, str]: ...

    def link(self, links: Iterable[tuple[str, str, str]]) -> None: ...

    def identities(self, profile_id: str) -> list[tuple[str, str]]: ...


class IdentityResolver:
    """Resolves events to profile ids within one transaction, caching what it has looked up."""

    def __init__(self, store: IdentityStore):
        self._store = store
        self._cache: dict[tuple[str, str], str | None] = {}
        self._new_links: dict[tuple[str, str], str] = {}

    def prefetch(self, events: Iterable[Event]) -> set[str]:
        """Look up every id a batch of events carries in one query per kind, instead of one
        per event; return the profile ids the batch can fold into (found, or new)."""
        users: set[str] = set()
        anons: set[str] = set()
        for event in events:
            if event.user_id is not None:
                users.add(event.user_id)
            if event.anonymous_id is not None:
                anons.add(event.anonymous_id)
            if event.previous_id is not None:
                users.add(event.previous_id)
                anons.add(event.previous_id)
        candidates: set[str] = set()
        for kind, values in (("user", users), ("anon", anons)):
            known = self._store.resolve_many(kind, values)
            for value in values:
                found = self._cache.setdefault((kind, value), known.get(value))
                new = value if kind == "user" else anonymous_profile_id(value)
                candidates.add(found if found is not None else new)
        return candidates

    def _lookup(self, kind: str, value: str) -> str | None:
        key = (kind, value)
        if key not in self._cache:
            self._cache[key] = self._store.resolve(kind, value)
        return self._cache[key]

    def _link(self, kind: str, value: str, profile_id: str) -> None:
        self._cache[(kind, value)] = profile_id
        self._new_links[(kind, value)] = profile_id

    def flush(self) -> None:
        """Store the links this batch made, in one write (after its merges: a link made to a
        profile that later merged points at the winner)."""
        self._store.link((kind, value, pid) for (kind, value), pid in self._new_links.items())
        self._new_links.clear()

    def merged(self, loser: str, winner: str) -> None:
        """Record that `loser`'s identities now point at `winner` (the store moved the rows)."""
        for links in (self._cache, self._new_links):
            for key, pid in links.items():
                if pid == loser:
                    links[key] = winner

    def resolve(self, event: Event) -> tuple[str, list[str]]:
        """The event's profile id, and the profiles that must merge into it (losers)."""
        uid, aid = event.user_id, event.anonymous_id
        if uid is None:
            assert aid is not None, "validation guarantees an id"
            found = self._lookup("anon", aid)
            if found is None:
                found = anonymous_profile_id(aid)
                self._link("anon", aid, found)
            return found, []
        winner = self._lookup("user", uid)
        if winner is None:
            winner = uid
            self._link("user", uid, winner)
        losers: list[str] = []
        if aid is not None:
            owner = self._lookup("anon", aid)
            if owner is None:
                self._link("anon", aid, winner)
            elif owner != winner and is_anonymous(owner):
                losers.append(owner)
        if event.type == "alias" and event.previous_id is not None:
            prev = event.previous_id
            owner = self._lookup("user", prev) or self._lookup("anon", prev)
            if owner is None:
                self._link("user", prev, winner)
                self._link("anon", prev, winner)
            elif owner != winner:
                losers.append(owner)
        return winner, sorted(set(losers))
