"""Journeys and broadcasts from the command line: numbers per step, broadcasts, and the
workspace's definitions planned and applied on a running server."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError
from rich.table import Table

from pertinent.app import DEFAULT_BASE_URL, open_system
from pertinent.cli.root import WorkspaceOpt, app, console
from pertinent.config import load_workspace
from pertinent.errors import ConfigError, InputError, NotFoundError
from pertinent.journeys.broadcasts import BroadcastRequest, create
from pertinent.journeys.plan import workspace_files
from pertinent.journeys.stats import report

broadcast_app = typer.Typer(help="Send a template to a segment.", no_args_is_help=True)
app.add_typer(broadcast_app, name="broadcast")


@app.command("journeys")
def journeys(workspace: WorkspaceOpt = Path(".")) -> None:
    """Every journey's numbers per version and step."""
    system = open_system(workspace)
    try:
        found = report(system.processor.pipeline.journeys, system.storage.reads.journey_numbers())
    finally:
        system.close()
    for journey in found:
        for version in journey.versions:
            live = " (live)" if version.live else ""
            table = Table(
                "step", "type", "numbers", "exits", title=f"{journey.key} v{version.version}{live}"
            )
            for step in version.steps:
                numbers = ", ".join(f"{k} {v}" for k, v in sorted(step.numbers.items()))
                exits = ", ".join(f"{k} {v}" for k, v in sorted(step.exits.items()))
                table.add_row(step.id, step.type, numbers, exits)
            console.print(table)


@broadcast_app.command("send")
def send(
    template: Annotated[str, typer.Option(help="a folder in templates/")],
    segment: Annotated[str, typer.Option(help="the segment whose members get it")],
    workspace: WorkspaceOpt = Path("."),
    at: Annotated[
        str | None, typer.Option(help="when, ISO 8601 with a zone (default: now)")
    ] = None,
    local_time: Annotated[
        bool, typer.Option(help="at --at's wall-clock time in each person's zone")
    ] = False,
    per_hour: Annotated[int | None, typer.Option(help="send at most this many an hour")] = None,
    name: Annotated[str, typer.Option(help="a name to find it by")] = "",
) -> None:
    """Schedule a broadcast; the processor sends it when its time comes."""
    try:
        request = BroadcastRequest(
            template=template,
            segment=segment,
            name=name,
            send_at=datetime.fromisoformat(at) if at else None,
            local_time=local_time,
            per_hour=per_hour,
        )
    except (ValueError, ValidationError) as exc:
        raise InputError(str(exc).splitlines()[0], where="--at/--per-hour") from None
    system = open_system(workspace)
    try:
        segments = [s.key for s in system.processor.pipeline.segments]
        made = create(
            system.storage, request, segments, system.templates.names(), system.clock.now()
        )
    finally:
        system.close()
    console.print(f"[green]broadcast {made.id} scheduled[/green] for {made.send_at.isoformat()}")


@broadcast_app.command("show")
def show(broadcast_id: int, workspace: WorkspaceOpt = Path(".")) -> None:
    """A broadcast's numbers: targeted, sent, capped, suppressed, opens, clicks."""
    system = open_system(workspace)
    try:
        found = system.storage.reads.broadcast_numbers(broadcast_id)
    finally:
        system.close()
    if found is None:
        raise NotFoundError(f"no broadcast {broadcast_id}")
    b = found.broadcast
    table = Table("figure", "value", title=f"broadcast {b.id}: {b.name} ({found.status})")
    table.add_row("targeted", str(b.targeted))
    table.add_row("pending", str(found.pending))
    for outcome, n in sorted(found.outcomes.items()):
        table.add_row(outcome, str(n))
    table.add_row("opened", str(found.opened))
    table.add_row("clicked", str(found.clicked))
    console.print(table)


def _server(workspace: Path, server: str | None, key: str | None) -> tuple[str, str]:
    settings = load_workspace(workspace).settings
    found = key or os.environ.get("PERTINENT_ADMIN_KEY")  # the file keeps only hashes
    if not found:
        raise InputError("no admin key", hint="pass --key or set PERTINENT_ADMIN_KEY")
    return (server or settings.server.base_url or DEFAULT_BASE_URL).rstrip("/"), found


def _send(workspace: Path, server: str | None, key: str | None, action: str) -> dict[str, Any]:
    base, admin = _server(workspace, server, key)
    files = workspace_files(workspace)
    try:
        answer = httpx.post(
            f"{base}/v1/workspace/{action}",
            json={"files": files},
            headers={"Authorization": f"Bearer {admin}"},
            timeout=120,
        )
    except httpx.HTTPError as exc:
        raise InputError(
            f"cannot reach {base}: {exc}", hint="is `pertinent serve` running?"
        ) from exc
    body: dict[str, Any] = answer.json()
    if answer.status_code != 200:
        raise ConfigError(str(body.get("error")), where=body.get("where"), hint=body.get("hint"))
    return body


def _print_plan(plan: dict[str, Any]) -> None:
    table = Table("kind", "name", "change", "details", title=f"{plan['changes']} change(s)")
    for s in plan["segments"]:
        after = "removed" if s["size_after"] is None else f"{s['size_after']:,}"
        table.add_row("segment", s["key"], s["change"], f"size {s['size_now']:,} -> {after}")
    for j in plan["journeys"]:
        running = sum(j["running"].values())
        details = f"v{j['version_now']} -> v{j['version_after']}; {running} running"
        if j["steps_gone"]:
            details += f"; finishing on their version at {', '.join(j['steps_gone'])}"
        if j["migrated"]:
            details += f"; moved {j['migrated']}"
        table.add_row("journey", j["key"], j["change"], details)
    for t in plan["templates"]:
        table.add_row("template", t["name"], t["change"], "; ".join(t["problems"]) or "ok")
    console.print(table)


@app.command("plan")
def plan(
    workspace: WorkspaceOpt = Path("."),
    server: Annotated[str | None, typer.Option(help="default: server.base_url")] = None,
    key: Annotated[str | None, typer.Option(help="an admin key")] = None,
) -> None:
    """Show what the folder's segments, journeys and templates would change on the running
    server; nothing changes."""
    _print_plan(_send(workspace, server, key, "plan"))


@app.command("apply")
def apply(
    workspace: WorkspaceOpt = Path("."),
    server: Annotated[str | None, typer.Option(help="default: server.base_url")] = None,
    key: Annotated[str | None, typer.Option(help="an admin key")] = None,
) -> None:
    """Put the folder's segments, journeys and templates live on the running server,
    without a restart."""
    _print_plan(_send(workspace, server, key, "apply"))
    console.print("[green]applied[/green]")
