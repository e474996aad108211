"""`pertinent init`: write the example workspace that ships with the package."""

from __future__ import annotations

import secrets
import shutil
from importlib import resources
from pathlib import Path

from pertinent.config import CONFIG_FILE
from pertinent.errors import InputError

_SECRET_PLACEHOLDER = "change-me-to-a-long-random-string"


def write_example_workspace(directory: Path) -> None:
    """Copy the example workspace (settings, segments, journeys, templates) into `directory`."""
    if (directory / CONFIG_FILE).exists():
        raise InputError(
            "already a workspace",
            where=str(directory),
            hint="pick an empty folder, or edit the files that are there",
        )
    template = resources.files("pertinent") / "workspace_template"
    with resources.as_file(template) as source:
        shutil.copytree(source, directory, dirs_exist_ok=True)
    # Tracking links and unsubscribe tokens are signed with this secret: a shared default
    # would let anyone forge them, so every workspace starts with its own.
    settings = directory / CONFIG_FILE
    settings.write_text(
        settings.read_text(encoding="utf-8").replace(
            _SECRET_PLACEHOLDER, secrets.token_urlsafe(32)
        ),
        encoding="utf-8",
    )
