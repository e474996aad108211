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

from collections.abc import Iterable, Mapping

from pertinent.events.model import Event
from pertinent.profiles.state import anonymous_profile_id, is_anonymous

IdentityKey = tuple[str, str]  # ("user" | "anon", value)


def identity_keys(events: Iterable[Event]) -> set[IdentityKey]:
    """Every identity a batch of events carries (a previous id may be either kind)."""
    keys: set[IdentityKey] = set()
    for event in events:
        if event.user_id is not None:
            keys.add(("user", event.user_id))
        if event.anonymous_id is not None:
            keys.add(("anon", event.anonymous_id))
        if event.previous_id is not None:
            keys.add(("user", event.previous_id))
            keys.add(("anon", event.previous_id))
    return keys


def candidate_profiles(known: Mapping[IdentityKey, str], keys: Iterable[IdentityKey]) -> set[str]:
    """The profiles a batch can fold into: those its identities point at, and the new ones
    they would make."""
    found: set[str] = set()
    for kind, value in keys:
        pid = known.get((kind, value))
        found.add(
            pid if pid is not None else value if kind == "user" else anonymous_profile_id(value)
        )
    return found


class IdentityResolver:
    """Resolves events to profile ids over the links known before a batch (`known`, which
    must hold every identity the batch carries) and the links the batch makes; no I/O."""

    def __init__(self, known: Mapping[IdentityKey, str]):
        self._links: dict[IdentityKey, str] = dict(known)
        self._new_links: dict[IdentityKey, str] = {}

    def _lookup(self, kind: str, value: str) -> str | None:
        return self._links.get((kind, value))

    def _link(self, kind: str, value: str, profile_id: str) -> None:
        self._links[(kind, value)] = profile_id
        self._new_links[(kind, value)] = profile_id

    @property
    def new_links(self) -> list[tuple[str, str, str]]:
        """(kind, value, profile) for identities that had no profile before this batch; a
        link made to a profile that later merged points at the winner."""
        return [(kind, value, pid) for (kind, value), pid in self._new_links.items()]

    def links_of(self, keys: Iterable[IdentityKey]) -> dict[IdentityKey, str]:
        """Where each of these identities points now (those with no profile left out)."""
        return {key: self._links[key] for key in keys if key in self._links}

    def merged(self, loser: str, winner: str) -> None:
        """Point `loser`'s identities at `winner` (the store moves the stored ones)."""
        for links in (self._links, self._new_links):
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
