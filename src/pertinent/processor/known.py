"""What this processor last committed: profiles and identity links, kept in memory so the
next batch about the same people need not read and parse them again.

Trusting them is safe because every write checks what it read: a profile saved from a stale
state fails its version check, a link made where another writer linked first fails its
insert, and the batch then runs again with this memory cleared. So staleness (another
processor, an erasure through the API) costs a retry, never a wrong profile. Entries are
also dropped after `max_age` seconds, so an erased person's data does not linger here.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Generic, TypeVar

from pertinent.clock import monotonic
from pertinent.profiles.identity import IdentityKey, candidate_profiles
from pertinent.profiles.state import ProfileState
from pertinent.storage.ports import Transaction

K = TypeVar("K")
V = TypeVar("V")


class _Recent(Generic[K, V]):
    """A bounded map whose entries expire."""

    def __init__(self, capacity: int, max_age: float):
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._capacity = capacity
        self._max_age = max_age

    def get(self, key: K, now: float) -> V | None:
        found = self._items.get(key)
        if found is None:
            return None
        if now - found[0] > self._max_age:
            del self._items[key]
            return None
        return found[1]

    def holds(self, key: K, value: V) -> bool:
        found = self._items.get(key)
        return found is not None and (found[1] is value or found[1] == value)

    def put(self, key: K, value: V, at: float) -> None:
        self._items[key] = (at, value)
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def drop(self, key: K) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class Known:
    def __init__(self, capacity: int = 100_000, max_age: float = 30.0):
        self._profiles: _Recent[str, ProfileState] = _Recent(capacity, max_age)
        self._links: _Recent[IdentityKey, str] = _Recent(capacity * 2, max_age)
        self._capacity = capacity
        self.described: dict[str, list[dict[str, Any]]] = {}

    def descriptions(self) -> dict[str, list[dict[str, Any]]]:
        """The product descriptions this processor folded into the catalogue, for the fold
        to add to (a failed batch clears them with everything else)."""
        if len(self.described) > self._capacity:
            self.described = {}
        return self.described

    def load(
        self, tx: Transaction, keys: Collection[IdentityKey]
    ) -> tuple[dict[IdentityKey, str], dict[str, ProfileState]]:
        """The profile each identity points at (those with none are left out), and the
        stored profiles the identities can fold into. The states are the caller's to change,
        and must be given back through `committed` or dropped with `clear`.

        A remembered link whose profile is gone (its person was erased) means this memory is
        out of date: it is cleared and everything is read from the store.
        """
        links, remembered = self._identities(tx, keys)
        profiles = self._states(tx, candidate_profiles(links, keys))
        if any(links[key] not in profiles for key in remembered):
            self.clear()
            links, _ = self._identities(tx, keys)
            profiles = tx.profiles.load(candidate_profiles(links, keys))
        return links, profiles

    def _identities(
        self, tx: Transaction, keys: Collection[IdentityKey]
    ) -> tuple[dict[IdentityKey, str], list[IdentityKey]]:
        found: dict[IdentityKey, str] = {}
        remembered: list[IdentityKey] = []
        missing: dict[str, list[str]] = {"user": [], "anon": []}
        now = monotonic()
        for key in keys:
            pid = self._links.get(key, now)
            if pid is None:
                missing[key[0]].append(key[1])
            else:
                found[key] = pid
                remembered.append(key)
        for kind, values in missing.items():
            if values:
                stored = tx.profiles.resolve_many(kind, values)
                found.update(((kind, value), pid) for value, pid in stored.items())
        return found, remembered

    def _states(self, tx: Transaction, ids: Collection[str]) -> dict[str, ProfileState]:
        found: dict[str, ProfileState] = {}
        missing = []
        now = monotonic()
        for pid in ids:
            state = self._profiles.get(pid, now)
            if state is None:
                missing.append(pid)
            else:
                found[pid] = state
        found.update(tx.profiles.load(missing))
        return found

    def committed(
        self,
        states: Iterable[ProfileState],
        links: Mapping[IdentityKey, str],
        gone: Iterable[str],
    ) -> None:
        """Remember what a batch committed (the states as saved, with their new versions).
        What was remembered already is the same object, saved in place, and keeps its age:
        an entry lives `max_age` from when it was read, however often it is used."""
        now = monotonic()
        for state in states:
            if not self._profiles.holds(state.profile_id, state):
                self._profiles.put(state.profile_id, state, now)
        for key, pid in links.items():
            if not self._links.holds(key, pid):
                self._links.put(key, pid, now)
        for pid in gone:
            self._profiles.drop(pid)

    def forget(self, ids: Iterable[str]) -> None:
        for pid in ids:
            self._profiles.drop(pid)

    def clear(self) -> None:
        self._profiles.clear()
        self._links.clear()
        self.described = {}
