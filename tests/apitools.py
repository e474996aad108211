"""Constants and steps the HTTP tests share."""

from __future__ import annotations

import asyncio

from pertinent.app import System

WRITE_KEY = "demo-write-key"
ADMIN = {"Authorization": "Bearer demo-admin-key"}


def settle(system: System) -> None:
    """Process everything the API has accepted so far (the worker loop is off in tests)."""
    asyncio.run(system.worker.run_until_idle())
