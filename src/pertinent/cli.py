"""The command line. Each command parses, calls one part, and shapes the answer; errors are
one red line that says what to do, never a traceback."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pertinent.app import System, open_system
from pertinent.errors import InputError, PertinentError
from pertinent.ingest.files import count_lines, read_events, read_people
from pertinent.ingest.pipeline import prepare
from pertinent.scaffold import write_example_workspace

app = typer.Typer(
    help="Pertinent: data-driven email personalization.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
import_app = typer.Typer(
    help="Import events or people through the ingestion pipeline.", no_args_is_help=True
)
app.add_typer(import_app, name="import")
console = Console()
err = Console(stderr=True)

WorkspaceOpt = Annotated[Path, typer.Option("--workspace", "-w", help="workspace folder")]
IMPORT_CHUNK = 1000


@app.command()
def init(directory: Path) -> None:
    """Write a working example workspace into DIRECTORY."""
    write_example_workspace(directory)
    console.print(
        f"[green]Workspace written to {directory}[/green]. Next: "
        f"pertinent serve --workspace {directory}"
    )


@app.command()
def serve(
    workspace: WorkspaceOpt = Path("."),
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    worker: Annotated[bool, typer.Option(help="run the processor/timers/sender loop too")] = True,
) -> None:
    """Run the API, processor, timers and sender in one process."""
    import uvicorn

    from pertinent.api.app import create_app

    system = open_system(workspace)
    console.print(f"Pertinent serving {workspace} on http://{host}:{port}  (docs at /docs)")
    uvicorn.run(create_app(system, run_worker=worker), host=host, port=port, log_level="warning")


@app.command()
def process(
    workspace: WorkspaceOpt = Path("."),
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="stop at the end of the log")
    ] = False,
) -> None:
    """Run the processor, timers and sender (to the end of the log with --until-idle)."""
    system = open_system(workspace)
    try:
        if until_idle:
            asyncio.run(system.worker.run_until_idle())
        else:
            asyncio.run(system.worker.run(asyncio.Event()))
        with system.storage.snapshot() as tx:
            console.print(f"processed to seq {tx.cursors.get('processor')} of {tx.log.last_seq()}")
    finally:
        system.close()


def _import(system: System, records: Iterator[tuple[int, Any]], total: int, what: str) -> None:
    accepted = duplicates = 0
    rejected: list[tuple[int, str, str]] = []
    chunk: list[Any] = []
    lines: list[int] = []

    def flush() -> None:
        nonlocal accepted, duplicates
        events, rejections = prepare(chunk, received_at=system.clock.now())
        rejected.extend((lines[r.index], r.field, r.reason) for r in rejections)
        result = system.ingestor.append(events)
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
                rejected.append((number, "(line)", raw.message))
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
    if rejected:
        table = Table("line", "field", "reason", title="first rejections")
        for number, field, reason in rejected[:20]:
            table.add_row(str(number), field, reason)
        console.print(table)


@import_app.command("events")
def import_events(file: Path, workspace: WorkspaceOpt = Path(".")) -> None:
    """Import events from FILE (.jsonl or .csv, optionally .gz)."""
    system = open_system(workspace)
    try:
        _import(system, read_events(file), count_lines(file), "events")
    finally:
        system.close()


@import_app.command("people")
def import_people(file: Path, workspace: WorkspaceOpt = Path(".")) -> None:
    """Import people from a CSV with a userId column; other columns become traits."""
    system = open_system(workspace)
    try:
        _import(system, read_people(file), max(count_lines(file) - 1, 0), "people")
    finally:
        system.close()


@app.command()
def demo(
    workspace: WorkspaceOpt = Path("demo-workspace"),
    days: Annotated[int, typer.Option(help="simulated days to replay")] = 3,
    people: Annotated[int, typer.Option(help="simulated people")] = 300,
    port: Annotated[int, typer.Option(help="port to serve on afterwards")] = 8000,
    exit_when_done: Annotated[
        bool, typer.Option("--exit-when-done", help="stop after the replay")
    ] = False,
    seed: Annotated[int, typer.Option(help="simulation seed")] = 7,
) -> None:
    """Replay simulated shop days through the real API, deliver emails to a local SMTP sink,
    then keep serving with a page of the delivered emails."""
    from pertinent.demo import run_demo

    run_demo(
        workspace,
        days=days,
        people=people,
        port=port,
        exit_when_done=exit_when_done,
        seed=seed,
        console=console,
    )


def main() -> None:
    try:
        app()
    except PertinentError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
