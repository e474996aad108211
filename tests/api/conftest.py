"""A workspace, its system on a simulated clock, and the real app served over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import START
from server import serving

from pertinent.api.app import create_app
from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.scaffold import write_example_workspace


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[System]:
    root = tmp_path / "ws"
    write_example_workspace(root)
    monkeypatch.setenv("PERTINENT_SMTP_URL", "smtp://127.0.0.1:1")
    built = build_system(load_workspace(root), clock=SimClock(START))
    yield built
    built.close()


@pytest.fixture
def base_url(system: System) -> Iterator[str]:
    """The API alone, as `serve` runs it: tests process explicitly with `settle`."""
    with serving(create_app(system)) as url:
        yield url
