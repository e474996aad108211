"""The loops the processor and sender processes run until told to stop.

The processor works on the partitions it holds a lease on: micro-batches while there is a
backlog, then due timers, polling briefly when idle. The processor holding partition 0 also
trains the recommendation model and scores RFM when they are due, each in a thread of its
own, so a long run never holds back processing; every processor loads the newest model
published. A failing round is
logged and retried after a pause that grows while it keeps failing (a batch that failed
rolled back; nothing is lost or done twice).

The sender delivers due outbox rows, first taking back the rows it had claimed before a
restart, and heartbeats under its slot's name.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
from collections.abc import Callable
from datetime import timedelta

from pertinent.app import System
from pertinent.clock import monotonic
from pertinent.processor.leases import PartitionLeases, check_partitioning
from pertinent.storage.ports import ConcurrentUpdate, Partition

log = logging.getLogger("pertinent.processor")
MODEL_POLL_SECONDS = 2.0
MAX_PAUSE_SECONDS = 5.0


class _Job:
    """Scheduled work (training, RFM scoring): at most one run at a time, each in a thread
    of its own, so a long run never holds back processing."""

    def __init__(self, name: str, due: Callable[[], bool], run: Callable[[], None]):
        self._name, self._due, self._run = name, due, run
        self._thread: threading.Thread | None = None

    def maybe_start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        if not self._due():
            return
        self._thread = threading.Thread(target=self._guarded, name=self._name, daemon=True)
        self._thread.start()

    def _guarded(self) -> None:
        try:
            self._run()
        except ConcurrentUpdate:
            log.info("%s: another process did it first", self._name)
        except Exception:
            log.exception("%s failed; trying again when it is next due", self._name)


def _train(system: System) -> None:
    result = system.models.train()
    log.info("trained %s on %d people x %d items", result.model, result.users, result.items)


def _score(system: System) -> None:
    run = system.score_rfm()
    log.info("scored RFM of %d customers, %d with new scores", run.customers, run.changed)


def processor_owner(slot: int) -> str:
    return f"{socket.gethostname()}/processor-{slot}"


def run_processor(system: System, stop: threading.Event, *, slot: int = 0) -> None:
    settings = system.workspace.settings.processor
    check_partitioning(system.storage, settings.partitions)
    lease = timedelta(seconds=settings.lease_seconds)
    leases = PartitionLeases(
        system.storage, system.clock, processor_owner(slot), settings.partitions, lease
    )
    # One of each for the deployment: whoever holds partition 0 runs them.
    jobs = [
        _Job("train", system.models.retrain_due, functools.partial(_train, system)),
        _Job("rfm", system.rfm_due, functools.partial(_score, system)),
    ]
    partitions: list[Partition] = []
    renew_at = models_at = 0.0
    failures = 0
    while not stop.is_set():
        try:
            now = monotonic()
            if now >= renew_at:
                held = leases.renew()
                if held != partitions:
                    log.info("working on partitions %s", [p.index for p in held])
                partitions, renew_at = held, now + settings.lease_seconds / 4
            if not system.segments_synced:
                system.sync_segments()
            if now >= models_at:
                system.models.poll()
                if any(p.index == 0 for p in partitions):
                    for job in jobs:
                        job.maybe_start()
                models_at = now + MODEL_POLL_SECONDS
            done = [system.processor.process_batch(p) for p in partitions]
            woke = sum(system.processor.run_timers(p) for p in partitions)
            failures = 0
        except Exception:
            failures += 1
            log.exception("processing failed; retrying")
            stop.wait(min(MAX_PAUSE_SECONDS, 0.1 * 2**failures))
            continue
        # Straight on while a partition has a backlog; once caught up, a short wait lets the
        # next events gather into one batch instead of many small ones, each with its fixed
        # cost (two transactions) taken from the API that shares the cores.
        if all(n < system.processor.batch_size for n in done) and not woke:
            stop.wait(settings.poll_interval_seconds)


async def _send(system: System, stop: threading.Event) -> None:
    sender = system.sender
    taken = await asyncio.to_thread(sender.take_back)
    if taken:
        log.info("took back %d emails this sender had claimed before it restarted", taken)
    poll = system.workspace.settings.processor.poll_interval_seconds
    beat_at = 0.0
    failures = 0
    while not stop.is_set():
        try:
            if monotonic() >= beat_at:
                await asyncio.to_thread(_heartbeat, system, sender.owner)
                beat_at = monotonic() + 2
            report = await sender.send_due()
            failures = 0
        except Exception:
            failures += 1
            log.exception("sending failed; retrying")
            await asyncio.sleep(min(MAX_PAUSE_SECONDS, 0.1 * 2**failures))
            continue
        if not report:
            await asyncio.sleep(poll)


def _heartbeat(system: System, owner: str) -> None:
    with system.storage.transaction() as tx:
        tx.coordination.heartbeat(owner, "sender", system.clock.now())


def run_sender(system: System, stop: threading.Event) -> None:
    asyncio.run(_send(system, stop))
