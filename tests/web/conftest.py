"""The dashboard tests serve the example workspace's system (tests/conftest.py: a simulated
clock, a real SMTP sink) over HTTP with the API tests' `base_url`, and sign in as a browser
does: the login form, then the session cookie."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from api.conftest import base_url  # noqa: F401  (a fixture)
from apitools import ADMIN_KEY


@pytest.fixture
def dashboard(base_url: str) -> Iterator[httpx.Client]:  # noqa: F811
    """An HTTP client signed in to the dashboard with the admin key."""
    with httpx.Client(base_url=base_url) as client:
        answer = client.post("/login", data={"key": ADMIN_KEY, "next": "/"})
        assert answer.status_code == 303, answer.text
        yield client
