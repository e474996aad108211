"""A workspace delivering to a real SMTP server (aiosmtpd), and its system on a simulated clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.sink import SmtpSink
from pertinent.scaffold import write_example_workspace


@pytest.fixture
def workspace(tmp_path: Path, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "ws"
    write_example_workspace(root)
    monkeypatch.setenv("PERTINENT_SMTP_URL", f"smtp://127.0.0.1:{sink.port}")
    return root


@pytest.fixture
def system(workspace: Path, clock: SimClock) -> Iterator[System]:
    """The example workspace's system; tests move `clock` and process themselves."""
    built = build_system(load_workspace(workspace), clock=clock)
    yield built
    built.close()
