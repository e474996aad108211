"""The worker loop: processor, timers and sender, in one asyncio task.

Database work runs in a thread so the HTTP API on the same event loop stays responsive; the
loop polls briefly when idle and runs back-to-back while there is work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from pertinent.clock import Clock
from pertinent.delivery.sender import Sender
from pertinent.processor import Processor

log = logging.getLogger("pertinent.worker")


class Worker:
    def __init__(
        self,
        processor: Processor,
        sender: Sender,
        *,
        batch_size: int,
        poll_interval: float,
        clock: Clock,
        retrain: Callable[[], object] | None = None,
        retrain_every: timedelta | None = None,
    ):
        self._processor = processor
        self._sender = sender
        self._batch_size = batch_size
        self._poll = poll_interval
        self._clock = clock
        self._retrain = retrain
        self._retrain_every = retrain_every
        self._trained_at: datetime | None = None

    async def tick(self) -> bool:
        """One round of processing, timers and sending; True if anything happened."""
        result = await asyncio.to_thread(self._processor.process_batch, self._batch_size)
        woke = await asyncio.to_thread(self._processor.run_timers)
        if self._retrain_due():
            self._trained_at = self._clock.now()
            assert self._retrain is not None
            await asyncio.to_thread(self._retrain)
        report = await self._sender.send_due()
        return result is not None or woke > 0 or report.sent + report.retried + report.failed > 0

    def _retrain_due(self) -> bool:
        """Recommendations train on start, then on schedule if there is one (by the clock, so
        simulated time retrains on simulated schedule)."""
        if self._retrain is None:
            return False
        last = self._trained_at
        if last is None:
            return True
        return self._retrain_every is not None and self._clock.now() - last >= self._retrain_every

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                busy = await self.tick()
            except Exception:
                # The loop must outlive one bad batch; the batch rolled back and will be retried.
                log.exception("worker tick failed; retrying")
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._poll)

    async def run_until_idle(self) -> None:
        """Work until nothing is left to do now (tests, `process --until-idle`, the demo)."""
        while await self.tick():
            pass
