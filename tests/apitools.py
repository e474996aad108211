"""Constants and steps the HTTP tests share."""

from __future__ import annotations

from pertinent.app import System

# The keys every test workspace accepts (tests/conftest.py sets them through the environment,
# which replaces the random ones `pertinent init` writes). WRITE_KEY is a server-side key.
WRITE_KEY = "test-server-key"
BROWSER_KEY = "test-browser-key"
ADMIN_KEY = "test-admin-key"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def settle(system: System) -> None:
    """Process everything the API has accepted so far (processing runs in other processes under `serve`)."""
    system.run_until_idle()
