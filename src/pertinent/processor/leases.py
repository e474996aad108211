"""Sharing the partitions between processors.

Each processor heartbeats under a stable name and holds leases on a fair share of the
partitions (the count divided by the live processors, rounded up): it renews its own, takes
free or expired ones up to its share, and gives back what is beyond it, so a second processor
that starts gets half within two renewals, and the partitions of one that died pass on when
their leases expire. A lease only says who should work on a partition; what makes two
processors on one partition harmless is the cursor each batch takes (`Cursors.take`).
"""

from __future__ import annotations

import math
import re
from datetime import timedelta

from pertinent.clock import Clock
from pertinent.errors import ConfigError
from pertinent.storage.ports import Partition, Storage

ROLE = "processor"
_SHARE = re.compile(r"^processor/(\d+)of(\d+)$")


class PartitionLeases:
    def __init__(self, storage: Storage, clock: Clock, owner: str, count: int, lease: timedelta):
        self._storage = storage
        self._clock = clock
        self.owner = owner
        self._count = count
        self._lease = lease

    def renew(self) -> list[Partition]:
        """Heartbeat, rebalance, and return the partitions this processor holds now."""
        with self._storage.transaction() as tx:
            now = self._clock.now()
            coordination = tx.coordination
            coordination.heartbeat(self.owner, ROLE, now)
            alive = coordination.alive(ROLE, now - self._lease)
            share = math.ceil(self._count / max(1, len(alive)))
            leases = coordination.leases(now)
            mine = sorted(p for p, owner in leases.items() if owner == self.owner)
            for partition in mine[share:]:
                coordination.release_lease(partition, self.owner)
            held = [
                p
                for p in mine[:share]
                if coordination.acquire(p, self.owner, now, now + self._lease)
            ]
            for partition in range(self._count):
                if len(held) >= share:
                    break
                if partition not in leases and coordination.acquire(
                    partition, self.owner, now, now + self._lease
                ):
                    held.append(partition)
        return [Partition(p, self._count) for p in sorted(held)]


def check_partitioning(storage: Storage, count: int) -> None:
    """Refuse to start with a partition count other than the log was processed with, unless
    the old processors drained it (then the new cursors start where they stopped)."""
    with storage.transaction() as tx:
        cursors = tx.cursors.all()
        old: dict[int, dict[str, int]] = {}
        for name, seq in cursors.items():
            found = _SHARE.match(name)
            n = int(found[2]) if found else 1 if name == "processor" else None
            if n is not None and n != count:
                old.setdefault(n, {})[name] = seq
        if not old:
            return
        for n, shares in old.items():
            for index in range(n):
                share = Partition(index, n)
                if tx.log.read_after(shares.get(share.cursor, 0), 1, share):
                    raise ConfigError(
                        f"the log was being processed in {n} partition(s) and is not drained",
                        where="processor.partitions",
                        hint=f"run with partitions: {n} until the lag is 0, then change it",
                    )
        start = tx.log.last_seq()
        for index in range(count):
            tx.cursors.set(Partition(index, count).cursor, start)
        for shares in old.values():
            for name in shares:
                tx.cursors.drop(name)
