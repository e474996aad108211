"""The privacy tests use the API tests' workspace, system and served app."""

from __future__ import annotations

from api.conftest import base_url, system  # noqa: F401  (fixtures)
