"""Model artefacts, erasure records, process heartbeats and partition leases in memory."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pertinent.storage.memory.state import (
    Erasure,
    Lease,
    State,
    StoredArtefact,
    Worker,
    json_value,
    utc,
)
from pertinent.storage.ports import Artefact


class MemoryArtefacts:
    def __init__(self, state: State):
        self._state = state

    def _versions(self, name: str) -> list[int]:
        return sorted(v for n, v in self._state.artefacts if n == name)

    def put(self, name: str, blob: bytes, meta: Mapping[str, Any], at: datetime) -> int:
        """One more than the newest version kept, as the SQL adapter counts."""
        version = max(self._versions(name), default=0) + 1
        self._state.artefacts[(name, version)] = StoredArtefact(
            json_value(dict(meta)), bytes(blob), utc(at)
        )
        return version

    def latest(self, name: str) -> Artefact | None:
        versions = self._versions(name)
        if not versions:
            return None
        stored = self._state.artefacts[(name, versions[-1])]
        return Artefact(name, versions[-1], json_value(stored.meta))

    def blob(self, name: str, version: int) -> bytes | None:
        stored = self._state.artefacts.get((name, version))
        return stored.blob if stored is not None else None

    def prune(self, name: str, keep: int) -> None:
        versions = self._versions(name)
        for version in versions[: max(len(versions) - keep, 0)]:
            del self._state.artefacts[(name, version)]

    def record_erasure(self, profile_id: str, at: datetime) -> None:
        self._state.erasures[self._state.next_id("erasure")] = Erasure(profile_id, utc(at))

    def erasures_after(self, mark: int) -> list[tuple[int, str]]:
        return [(i, e.profile_id) for i, e in sorted(self._state.erasures.items()) if i > mark]

    def forget_erasures(self, upto: int) -> None:
        self._state.erasures = {i: e for i, e in self._state.erasures.items() if i > upto}


class MemoryCoordination:
    def __init__(self, state: State):
        self._state = state

    def heartbeat(self, owner: str, role: str, now: datetime) -> None:
        self._state.workers[owner] = Worker(role, utc(now))

    def alive(self, role: str, since: datetime) -> list[str]:
        return sorted(
            owner
            for owner, worker in self._state.workers.items()
            if worker.role == role and worker.heartbeat_at >= since
        )

    def leases(self, now: datetime) -> dict[int, str]:
        return {p: lease.owner for p, lease in self._state.leases.items() if lease.expires_at > now}

    def acquire(self, partition: int, owner: str, now: datetime, until: datetime) -> bool:
        lease = self._state.leases.get(partition)
        if lease is not None and lease.owner != owner and lease.expires_at > now:
            return False
        self._state.leases[partition] = Lease(owner, utc(until))
        return True

    def release_lease(self, partition: int, owner: str) -> None:
        lease = self._state.leases.get(partition)
        if lease is not None and lease.owner == owner:
            del self._state.leases[partition]
