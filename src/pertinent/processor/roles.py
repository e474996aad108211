"""The loops the processor and sender processes run until told to stop.

The processor works on the partitions it holds a lease on: micro-batches while there is a
backlog, then due timers, polling briefly when idle. The processor holding partition 0 also
trains the recommendation model and scores RFM when they are due, each in a thread of its
own, so a long run never holds back processing; every processor loads the newest model
published. A failing round is logged and retried after a pause that grows while it keeps
failing (a batch that failed rolled back; nothing is lost or done twice).

The sender delivers due outbox rows, first taking back the rows it had claimed before a
restart, and heartbeats under its slot's name; it also makes the due webhook calls of
journey steps. The sender of slot 0 also serves the bounce address (`delivery.bounces`), on
the same event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta

from pertinent.app import System
from pertinent.clock import monotonic
from pertinent.delivery.feedback import Feedback, FeedbackReport, record_feedback
from pertinent.delivery.inbound import serve_bounces
from pertinent.processor.batch import retrying
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
                # Processors starting together race to save the same definitions: the
                # loser runs again and finds them saved.
                retrying(system.sync_segments)
            if now >= models_at:
                system.models.poll()
                if system.follow_definitions():
                    log.info("definitions applied elsewhere are live here now")
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


async def _send(system: System, stop: threading.Event, slot: int) -> None:
    sender = system.sender
    taken = await asyncio.to_thread(sender.take_back)
    if taken:
        log.info("took back %d emails this sender had claimed before it restarted", taken)
    bounces = _Bounces(system) if slot == 0 else None
    poll = system.workspace.settings.processor.poll_interval_seconds
    beat_at = 0.0
    failures = 0
    try:
        while not stop.is_set():
            try:
                if monotonic() >= beat_at:
                    await asyncio.to_thread(_heartbeat, system, sender.owner)
                    if bounces is not None:
                        await bounces.keep_listening()
                    beat_at = monotonic() + 2
                report = await sender.send_due()
                called = await system.webhooks.deliver_due()
                failures = 0
            except Exception:
                failures += 1
                log.exception("sending failed; retrying")
                await asyncio.sleep(min(MAX_PAUSE_SECONDS, 0.1 * 2**failures))
                continue
            if not report and not called:
                await asyncio.sleep(poll)
    finally:
        if bounces is not None:
            bounces.close()
        await sender.close()


class _Bounces:
    """The bounce address's SMTP server, on the sender's event loop: it answers while the
    sender waits on a slow relay. A port that cannot be had is tried again every 30 s, and
    sending goes on meanwhile."""

    RETRY_SECONDS = 30.0

    def __init__(self, system: System):
        self._system = system
        self._settings = system.workspace.settings.delivery.bounces
        self._server: asyncio.Server | None = None
        self._next_try = 0.0

    async def _record(self, reports: Sequence[Feedback]) -> FeedbackReport:
        system = self._system
        return await asyncio.to_thread(record_feedback, system.storage, reports, system.clock.now())

    async def keep_listening(self) -> None:
        if self._settings is None or self._server is not None or monotonic() < self._next_try:
            return
        try:
            self._server = await serve_bounces(self._settings, self._record)
        except OSError as exc:
            log.error("cannot listen for bounces on %s: %s", self._settings.listen, exc)
            self._next_try = monotonic() + self.RETRY_SECONDS
            return
        log.info("taking bounces for %s on %s", self._settings.address, self._settings.listen)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


def _heartbeat(system: System, owner: str) -> None:
    with system.storage.transaction() as tx:
        tx.coordination.heartbeat(owner, "sender", system.clock.now())


def run_sender(system: System, stop: threading.Event, *, slot: int = 0) -> None:
    """Deliver until `stop`; the sender of slot 0 also serves the bounce address."""
    asyncio.run(_send(system, stop, slot))
