"""Constants and steps the HTTP tests share."""

from __future__ import annotations

from pertinent.app import System

WRITE_KEY = "demo-write-key"
ADMIN = {"Authorization": "Bearer demo-admin-key"}


def settle(system: System) -> None:
    """Process everything the API has accepted so far (processing runs in other processes under `serve`)."""
    system.run_until_idle()
