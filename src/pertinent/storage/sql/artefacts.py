"""Model artefacts, erasure records, process heartbeats and partition leases on SQL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from pertinent.storage.ports import Artefact
from pertinent.storage.sql import tables
from pertinent.storage.sql.dialect import insert_ignoring, upsert

_A = tables.artefacts
_E = tables.erasures
_W = tables.workers
_L = tables.partition_leases


class SqlArtefacts:
    def __init__(self, conn: Connection):
        self._conn = conn

    def put(self, name: str, blob: bytes, meta: Mapping[str, Any], at: datetime) -> int:
        latest = self._conn.execute(
            select(func.coalesce(func.max(_A.c.version), 0)).where(_A.c.name == name)
        ).scalar_one()
        version = int(latest) + 1
        self._conn.execute(
            insert(_A).values(name=name, version=version, meta=dict(meta), blob=blob, created_at=at)
        )
        return version

    def latest(self, name: str) -> Artefact | None:
        row = self._conn.execute(
            select(_A.c.version, _A.c.meta)
            .where(_A.c.name == name)
            .order_by(_A.c.version.desc())
            .limit(1)
        ).first()
        return Artefact(name, int(row.version), dict(row.meta)) if row is not None else None

    def blob(self, name: str, version: int) -> bytes | None:
        found = self._conn.execute(
            select(_A.c.blob).where(_A.c.name == name, _A.c.version == version)
        ).scalar()
        return bytes(found) if found is not None else None

    def prune(self, name: str, keep: int) -> None:
        newest = self._conn.execute(
            select(_A.c.version).where(_A.c.name == name).order_by(_A.c.version.desc()).limit(keep)
        ).scalars()
        self._conn.execute(delete(_A).where(_A.c.name == name, _A.c.version.not_in(list(newest))))

    def record_erasure(self, profile_id: str, at: datetime) -> None:
        self._conn.execute(insert(_E).values(profile_id=profile_id, erased_at=at))

    def erasures_after(self, mark: int) -> list[tuple[int, str]]:
        rows = self._conn.execute(
            select(_E.c.id, _E.c.profile_id).where(_E.c.id > mark).order_by(_E.c.id)
        )
        return [(int(i), str(p)) for i, p in rows]

    def forget_erasures(self, upto: int) -> None:
        self._conn.execute(delete(_E).where(_E.c.id <= upto))


class SqlCoordination:
    def __init__(self, conn: Connection):
        self._conn = conn

    def heartbeat(self, owner: str, role: str, now: datetime) -> None:
        upsert(
            self._conn, _W, [{"owner": owner, "role": role, "heartbeat_at": now}], keys=["owner"]
        )

    def alive(self, role: str, since: datetime) -> list[str]:
        rows = self._conn.execute(
            select(_W.c.owner)
            .where(_W.c.role == role, _W.c.heartbeat_at >= since)
            .order_by(_W.c.owner)
        )
        return [str(owner) for (owner,) in rows]

    def leases(self, now: datetime) -> dict[int, str]:
        rows = self._conn.execute(select(_L.c.partition, _L.c.owner).where(_L.c.expires_at > now))
        return {int(p): str(o) for p, o in rows}

    def acquire(self, partition: int, owner: str, now: datetime, until: datetime) -> bool:
        taken = self._conn.execute(
            update(_L)
            .where(_L.c.partition == partition, (_L.c.owner == owner) | (_L.c.expires_at <= now))
            .values(owner=owner, expires_at=until)
        ).rowcount
        if taken:
            return True
        row = {"partition": partition, "owner": owner, "expires_at": until}
        return bool(insert_ignoring(self._conn, _L, [row], returning="partition"))

    def release_lease(self, partition: int, owner: str) -> None:
        self._conn.execute(delete(_L).where(_L.c.partition == partition, _L.c.owner == owner))
