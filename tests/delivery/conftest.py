"""Fixtures of the delivery tests: a picky SMTP server and a system that sends to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from delivery.picky import Picky, PickyServer

from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.scaffold import write_example_workspace


@pytest.fixture
def picky() -> Iterator[PickyServer]:
    server = PickyServer(Picky(data_seconds=0.02))
    server.start()
    yield server
    server.stop()


def picky_system(
    root: Path, server: PickyServer, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> System:
    """The example workspace at `root`, sending to the picky server."""
    if not root.exists():
        write_example_workspace(root)
    monkeypatch.setenv("PERTINENT_SMTP_URL", f"smtp://127.0.0.1:{server.port}")
    return build_system(load_workspace(root), clock=clock)


@pytest.fixture
def picky_sys(
    tmp_path: Path, picky: PickyServer, clock: SimClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[System]:
    system = picky_system(tmp_path / "ws", picky, clock, monkeypatch)
    yield system
    system.close()
