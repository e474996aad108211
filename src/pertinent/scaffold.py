"""`pertinent init`: write the example workspace that ships with the package."""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pertinent.config import CONFIG_FILE, key_hash
from pertinent.errors import InputError

_SECRET_PLACEHOLDER = "change-me-to-a-long-random-string"


@dataclass(frozen=True)
class NewKeys:
    """The keys a new workspace accepts. Only their hashes are written down: whoever reads
    this value is the only one who ever sees the keys."""

    browser: str
    server: str
    admin: str


def new_key(prefix: str) -> str:
    """A fresh key: 256 random bits, with a prefix that says what it is for."""
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def write_example_workspace(directory: Path) -> NewKeys:
    """Copy the example workspace (settings, segments, journeys, templates) into `directory`,
    with its own secret and keys; return the keys."""
    if (directory / CONFIG_FILE).exists():
        raise InputError(
            "already a workspace",
            where=str(directory),
            hint="pick an empty folder, or edit the files that are there",
        )
    template = resources.files("pertinent") / "workspace_template"
    with resources.as_file(template) as source:
        shutil.copytree(source, directory, dirs_exist_ok=True)
    keys = NewKeys(
        browser=new_key("pk_browser"), server=new_key("pk_server"), admin=new_key("pk_admin")
    )
    # Tracking links and unsubscribe tokens are signed with this secret, and the keys open the
    # API: shared defaults would let anyone forge or use them, so every workspace has its own.
    settings = directory / CONFIG_FILE
    text = settings.read_text(encoding="utf-8")
    for placeholder, value in (
        (_SECRET_PLACEHOLDER, secrets.token_urlsafe(32)),
        ("browser-key-hash", key_hash(keys.browser)),
        ("server-key-hash", key_hash(keys.server)),
        ("admin-key-hash", key_hash(keys.admin)),
    ):
        text = text.replace(placeholder, value)
    settings.write_text(text, encoding="utf-8")
    return keys
