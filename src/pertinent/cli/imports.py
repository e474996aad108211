"""Bulk loads through the ingestion pipeline, with a progress bar.

An import that rejected any record exits with status 1 (after importing the rest), so a
script notices; `--allow-rejections` makes that a success.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pertinent.app import System, open_system
from pertinent.cli.root import WorkspaceOpt, app, console
from pertinent.errors import InputError
from pertinent.ingest.cell_types import CellError
from pertinent.ingest.files import count_lines, read_events, read_people
from pertinent.processor.journeys import HISTORIC_CONTEXT
from pertinent.recommend.catalogue import load_products_csv

import_app = typer.Typer(
    help="Import events or people through the ingestion pipeline.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
IMPORT_CHUNK = 1000
AllowRejections = Annotated[
    bool,
    typer.Option(
        "--allow-rejections", help="exit 0 even if some records were rejected (they still are)"
    ),
]
Types = Annotated[
    str | None,
    typer.Option(
        "--types",
        help="CSV column types, e.g. age=int,signed_up_at=datetime "
        "(string, int, float, bool, date, datetime); other cells stay text",
    ),
]


def _import(
    system: System,
    records: Iterator[tuple[int, Any]],
    total: int,
    what: str,
    context: dict[str, Any] | None = None,
) -> int:
    """Send the records through the pipeline in chunks; a record the reader could not read
    (an InputError in its place) is a rejection like any other, so the rest still goes in.
    Returns how many records were rejected."""
    accepted = duplicates = 0
    rejected: list[tuple[int, str, str]] = []
    hints: dict[str, None] = {}  # in first-seen order, each said once under the table
    chunk: list[Any] = []
    lines: list[int] = []

    def flush() -> None:
        nonlocal accepted, duplicates
        result = system.ingestor.ingest(chunk, context_defaults=context)
        rejected.extend((lines[r.index], r.field, r.reason) for r in result.rejections)
        accepted += result.accepted
        duplicates += result.duplicates
        chunk.clear()
        lines.clear()

    columns = (
        TextColumn(f"importing {what}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(what, total=total)
        for number, raw in records:
            progress.advance(task)
            if isinstance(raw, InputError):
                field = raw.column if isinstance(raw, CellError) else "(line)"
                rejected.append((number, field, raw.message))
                if raw.hint:
                    hints[raw.hint] = None
                continue
            chunk.append(raw)
            lines.append(number)
            if len(chunk) >= IMPORT_CHUNK:
                flush()
        flush()
    console.print(
        f"[green]{accepted} accepted[/green], {duplicates} duplicates skipped, "
        f"[{'red' if rejected else 'green'}]{len(rejected)} rejected[/]"
    )
    _show(rejected, hints)
    return len(rejected)


def _show(rejected: list[tuple[int, str, str]], hints: Iterable[str] = ()) -> None:
    if rejected:
        table = Table("line", "field", "reason", title="first rejections")
        for number, field, reason in rejected[:20]:
            table.add_row(str(number), field, reason)
        console.print(table)
        for hint in hints:
            console.print(f"hint: {hint}")


def _finish(rejected: int, allow: bool) -> None:
    if rejected and not allow:
        console.print(
            f"[red]{rejected} record{'s were' if rejected > 1 else ' was'} rejected[/red] "
            "(the others are imported); --allow-rejections exits 0 all the same"
        )
        raise typer.Exit(1)


@import_app.command("events")
def import_events(
    file: Path,
    workspace: WorkspaceOpt = Path("."),
    types: Types = None,
    allow_rejections: AllowRejections = False,
    trigger_journeys: Annotated[
        bool, typer.Option(help="treat the events as live: they may start journeys")
    ] = False,
) -> None:
    """Import events from FILE (.jsonl or .csv, optionally .gz). They are history: they
    update profiles and segments but start no journey (unless --trigger-journeys)."""
    system = open_system(workspace)
    try:
        # History folds into profiles and segments but starts no journey.
        context = None if trigger_journeys else HISTORIC_CONTEXT
        rejected = _import(system, read_events(file, types), count_lines(file), "events", context)
    finally:
        system.close()
    _finish(rejected, allow_rejections)


@import_app.command("people")
def import_people(
    file: Path,
    workspace: WorkspaceOpt = Path("."),
    types: Types = None,
    allow_rejections: AllowRejections = False,
) -> None:
    """Import people from a CSV with a userId column; other columns become traits."""
    system = open_system(workspace)
    try:
        total = max(count_lines(file) - 1, 0)
        rejected = _import(system, read_people(file, types), total, "people")
    finally:
        system.close()
    _finish(rejected, allow_rejections)


@import_app.command("products")
def import_products(
    file: Path, workspace: WorkspaceOpt = Path("."), allow_rejections: AllowRejections = False
) -> None:
    """Import products from a CSV with an item_id column (title, url, image, price, category,
    in_stock optional; other columns are kept)."""
    products, errors = load_products_csv(file)
    system = open_system(workspace)
    try:
        with system.storage.transaction() as tx:
            tx.products.upsert(products)
    finally:
        system.close()
    console.print(
        f"[green]{len(products)} products imported[/green], "
        f"[{'red' if errors else 'green'}]{len(errors)} rejected[/]"
    )
    _show(errors)
    _finish(len(errors), allow_rejections)
