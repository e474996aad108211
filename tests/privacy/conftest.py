"""The privacy tests serve the example workspace's system (tests/conftest.py: a simulated
clock, a real SMTP sink) with the API tests' `base_url`."""

from __future__ import annotations

from api.conftest import base_url  # noqa: F401  (a fixture)
