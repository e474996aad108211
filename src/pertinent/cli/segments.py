"""Segments: sync the workspace's definitions into the store (with a backfill), and preview a
condition before saving it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pertinent.app import open_system
from pertinent.cli.root import WorkspaceOpt, app, console, err
from pertinent.config import validate_file
from pertinent.errors import InputError
from pertinent.segments.language import SegmentDefinition
from pertinent.segments.preview import preview as preview_condition

segments_app = typer.Typer(
    help="Segment definitions, backfills and previews.", no_args_is_help=True
)
app.add_typer(segments_app, name="segments")


@segments_app.command()
def sync(workspace: WorkspaceOpt = Path(".")) -> None:
    """Save new and changed segment definitions as versions, evaluate them over everyone
    now, and close the memberships of removed ones."""
    system = open_system(workspace)
    try:
        with Progress(
            TextColumn("backfill"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
        ) as bar:
            task = bar.add_task("backfill", total=None)
            changes = system.sync_segments(
                progress=lambda done, total: bar.update(task, completed=done, total=total)
            )
        table = Table("segment", "change", "version", "entered", "left", "size")
        for c in changes:
            table.add_row(
                c.key, c.change, str(c.version), str(c.entered), str(c.exited), str(c.size)
            )
        console.print(table)
        for warning in system.size_warnings():
            err.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)
    finally:
        system.close()


@segments_app.command()
def preview(
    file: Annotated[Path, typer.Argument(help="a segment YAML file (not saved)")],
    workspace: WorkspaceOpt = Path("."),
) -> None:
    """How many people a segment file's condition holds now, and the first 20 of them."""
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read a segment here: {exc}", where=str(file)) from None
    definition = validate_file(SegmentDefinition, data, file)
    system = open_system(workspace)
    try:
        found = preview_condition(
            system.storage, system.segments, definition.condition, system.clock.now()
        )
    finally:
        system.close()
    console.print(f"{found.size} people")
    for person in found.sample:
        console.print(f"  {person['profile_id']}  {person['traits']}", soft_wrap=True)
    minimum = system.workspace.settings.segments.min_size
    if found.size < minimum:
        err.print(f"[yellow]warning:[/yellow] fewer than {minimum} people", soft_wrap=True)
