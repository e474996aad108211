"""Delivery from the command line: the DKIM key and the DNS record that vouches for it."""

from __future__ import annotations

from pathlib import Path

import typer

from pertinent.cli.root import WorkspaceOpt, app, console
from pertinent.config import load_workspace
from pertinent.delivery.dkim import DkimSigner, make_key
from pertinent.delivery.message import Originator
from pertinent.errors import InputError

TXT_STRING = 255  # a DNS TXT record is made of strings of at most 255 octets


def dkim_record(workspace: Path) -> None:
    """Print the DKIM DNS record of the workspace, making the key pair first if it has none."""
    ws = load_workspace(workspace)
    dkim = ws.settings.delivery.dkim
    if dkim is None:
        raise InputError(
            "DKIM is not configured",
            where="delivery.dkim",
            hint="add `dkim: {selector: pertinent, private_key: dkim/pertinent.pem}` to it",
        )
    path = ws.root / dkim.private_key
    if not path.exists():
        make_key(path)
        console.print(f"Made a DKIM key pair: {path} (keep it private, as the workspace secret)")
    domain = dkim.domain or Originator.from_settings(ws.settings.smtp.sender, None).domain
    signer = DkimSigner.load(path, dkim.selector, domain)
    value = signer.record_value
    strings = " ".join(f'"{value[i : i + TXT_STRING]}"' for i in range(0, len(value), TXT_STRING))
    console.print("Publish this TXT record so that receivers can check the signatures:")
    # Plain echo: the record must come out whole, never wrapped by the console.
    typer.echo(f"{signer.record_name}. 3600 IN TXT {strings}")


@app.command()
def dkim(workspace: WorkspaceOpt = Path(".")) -> None:
    """Show the DKIM DNS record to publish (making the key pair if the workspace has none)."""
    dkim_record(workspace)
