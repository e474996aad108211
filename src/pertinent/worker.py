"""The worker loop: processor, timers and sender, in one asyncio task.

Database work runs in a thread so the HTTP API on the same event loop stays responsive; the
loop polls briefly when idle and runs back-to-back while there is work.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from pertinent.delivery.sender import Sender
from pertinent.processor import Processor

log = logging.getLogger("pertinent.worker")


class Worker:
    def __init__(
        self, processor: Processor, sender: Sender, *, batch_size: int, poll_interval: float
    ):
        self._processor = processor
        self._sender = sender
        self._batch_size = batch_size
        self._poll = poll_interval

    async def tick(self) -> bool:
        """One round of processing, timers and sending; True if anything happened."""
        result = await asyncio.to_thread(self._processor.process_batch, self._batch_size)
        woke = await asyncio.to_thread(self._processor.run_timers)
        report = await self._sender.send_due()
        return result is not None or woke > 0 or report.sent + report.retried + report.failed > 0

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
