"""`pertinent serve`: the API, the processor and the sender as separate OS processes.

Each child is `pertinent serve --only ROLE --slot N`, so every role can also run alone (on
another machine, for scale-out). A child that exits without being asked to is logged and
started again, at once the first time and after a pause that grows while it keeps crashing;
Ctrl-C or SIGTERM stops every child (SIGTERM, then SIGKILL after a grace period) and exits.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

from pertinent.clock import monotonic

log = logging.getLogger("pertinent.supervisor")
GRACE_SECONDS = 10.0
STABLE_SECONDS = 10.0  # a child that ran this long before dying is restarted at once
MAX_DELAY_SECONDS = 10.0


def describe(code: int) -> str:
    return f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"


@dataclass
class Child:
    role: str
    slot: int
    command: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    crashes: int = 0
    restart_at: float | None = None

    @property
    def name(self) -> str:
        return f"{self.role}-{self.slot}"

    def start(self) -> None:
        self.process = subprocess.Popen(self.command)
        self.started = monotonic()
        self.restart_at = None
        log.info("%s started (pid %d)", self.name, self.process.pid)


class Supervisor:
    def __init__(self, roles: Sequence[tuple[str, int]], command: Callable[[str, int], list[str]]):
        self.children = [Child(role, slot, command(role, slot)) for role, slot in roles]
        self._stopping = False

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stopping = True

    def run(self) -> None:
        # Ctrl-C reaches the whole process group at once: the children stop by themselves,
        # and a flag (not KeyboardInterrupt, which could land anywhere) keeps this loop from
        # taking their exit for a crash and starting them again.
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self.children:
                child.start()
            while not self._stopping:
                self._watch()
                time.sleep(0.1)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self._stop_all()

    def _watch(self) -> None:
        now = monotonic()
        for child in self.children:
            if self._stopping:
                return
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.start()
                continue
            assert child.process is not None
            code = child.process.poll()
            if code is None:
                continue
            ran = now - child.started
            child.crashes = 0 if ran >= STABLE_SECONDS else child.crashes + 1
            delay = (
                0.0
                if child.crashes <= 1
                else min(MAX_DELAY_SECONDS, 0.5 * 2 ** (child.crashes - 2))
            )
            log.warning(
                "%s (pid %d) %s after %.1f s; restarting%s",
                child.name,
                child.process.pid,
                describe(code),
                ran,
                f" in {delay:.1f} s" if delay else "",
            )
            child.restart_at = now + delay

    def _stop_all(self) -> None:
        running = [
            c.process for c in self.children if c.process is not None and c.process.poll() is None
        ]
        for process in running:
            process.terminate()
        deadline = monotonic() + GRACE_SECONDS
        for process in running:
            try:
                process.wait(max(0.0, deadline - monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("pid %d did not stop in %.0f s; killing it", process.pid, GRACE_SECONDS)
                process.kill()
                process.wait()
        log.info("stopped")
