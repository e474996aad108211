"""API keys: make a new one and the entry that pertinent.yaml keeps of it."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from pertinent.cli.root import app, console
from pertinent.config import key_hash
from pertinent.scaffold import new_key

keys_app = typer.Typer(help="API keys (pertinent.yaml keeps only their hashes).")
app.add_typer(keys_app, name="keys")


@keys_app.command("new")
def new(
    kind: Annotated[
        Literal["browser", "server", "admin"],
        typer.Argument(help="browser or server (write keys), or admin"),
    ],
    name: Annotated[str, typer.Option(help="a name to know the key by")] = "",
) -> None:
    """Make a new key; print it once, and the entry to add under `keys:` in pertinent.yaml."""
    key = new_key(f"pk_{kind}")
    label = name or kind
    if kind == "admin":
        section, entry = "admin", f'{{name: {label}, hash: "{key_hash(key)}"}}'
    else:
        section, entry = "write", f'{{name: {label}, side: {kind}, hash: "{key_hash(key)}"}}'
    console.print(f"key (shown once): {key}", soft_wrap=True)
    console.print(f"add under keys.{section} in pertinent.yaml:\n  - {entry}", soft_wrap=True)
