"""The command line. Each command parses, calls one part, and shapes the answer; errors are
one red line that says what to do, never a traceback."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
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
from pertinent.recommend.catalogue import load_products_csv
from pertinent.recommend.retail import DEFAULT_PATH as RETAIL_PATH
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
recommend_app = typer.Typer(help="Train and evaluate recommendations.", no_args_is_help=True)
app.add_typer(recommend_app, name="recommend")
# Piped output (CI logs, files) gets room for the wide tables instead of an 80-column cut.
console = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

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


ROLES = ("api", "processor", "sender")


def _warn_about_example_keys(system: System, host: str) -> None:
    keys = system.workspace.settings.keys
    if host not in ("127.0.0.1", "localhost", "::1") and any(
        key.startswith("demo-") for key in [*keys.write, *keys.admin]
    ):
        err.print(
            f"[yellow]warning:[/yellow] serving on {host} with the example keys (demo-…): "
            "anyone who reaches it can send events and read profiles. Set keys in "
            "pertinent.yaml, or PERTINENT_WRITE_KEY / PERTINENT_ADMIN_KEY.",
            soft_wrap=True,
        )


def _run_role(role: str, workspace: Path, host: str, port: int, slot: int) -> None:
    """One role in this process, until Ctrl-C or SIGTERM."""
    system = open_system(workspace, slot=slot)
    try:
        if role == "api":
            import uvicorn

            from pertinent.api.app import create_app

            uvicorn.run(create_app(system), host=host, port=port, log_level="warning")
            return
        from pertinent.processor.roles import run_processor, run_sender

        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        if role == "processor":
            run_processor(system, stop, slot=slot)
        else:
            run_sender(system, stop)
    finally:
        system.close()


@app.command()
def serve(
    workspace: WorkspaceOpt = Path("."),
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    worker: Annotated[
        bool, typer.Option(help="also run the processor and sender (--no-worker: the API only)")
    ] = True,
    only: Annotated[
        str | None,
        typer.Option(help="run just this role in this process: api, processor or sender"),
    ] = None,
    processors: Annotated[int, typer.Option(min=1, help="processor processes to run")] = 1,
    slot: Annotated[int, typer.Option(min=0, help="this process's number among its role's")] = 0,
) -> None:
    """Run the HTTP API, the processor (with timers) and the sender as separate processes,
    restarting any that dies; or one of them with --only."""
    _configure_logging()
    if only is not None and only not in ROLES:
        raise InputError(f"no role {only!r}", where="--only", hint="use api, processor or sender")
    system = open_system(workspace)  # fails here, once, on a bad workspace
    _warn_about_example_keys(system, host)
    system.close()
    if only is not None:
        _run_role(only, workspace, host, port, slot)
        return
    from pertinent.supervisor import Supervisor

    roles = [("api", 0)]
    if worker:
        roles += [("processor", i) for i in range(processors)] + [("sender", 0)]
    base = [sys.executable, "-m", "pertinent", "serve", "--workspace", str(workspace)]
    console.print(f"Pertinent serving {workspace} on http://{host}:{port}  (docs at /docs)")
    Supervisor(
        roles,
        lambda role, n: [
            *base,
            "--host",
            host,
            "--port",
            str(port),
            "--only",
            role,
            "--slot",
            str(n),
        ],
    ).run()


def _configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
    )


@app.command()
def process(
    workspace: WorkspaceOpt = Path("."),
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="stop at the end of the log")
    ] = False,
) -> None:
    """Run the processor, timers and sender in this one process (to the end of the log with
    --until-idle)."""
    system = open_system(workspace)
    try:
        if until_idle:
            system.run_until_idle()
        else:
            _configure_logging()
            from pertinent.processor.roles import run_processor, run_sender

            stop = threading.Event()
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
            signal.signal(signal.SIGINT, lambda *_: stop.set())
            sending = threading.Thread(target=run_sender, args=(system, stop), daemon=True)
            sending.start()
            run_processor(system, stop)
            sending.join(timeout=10)
        status = system.storage.reads.status()
        console.print(f"processed to seq {status.processed_seq} of {status.log_seq}")
    finally:
        system.close()


def _import(system: System, records: Iterator[tuple[int, Any]], total: int, what: str) -> None:
    """Send the records through the pipeline in chunks; a record the reader could not read
    (an InputError in its place) is a rejection like any other, so the rest still goes in."""
    accepted = duplicates = 0
    rejected: list[tuple[int, str, str]] = []
    hints: dict[str, None] = {}  # in first-seen order, each said once under the table
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
    if rejected:
        table = Table("line", "field", "reason", title="first rejections")
        for number, field, reason in rejected[:20]:
            table.add_row(str(number), field, reason)
        console.print(table)
        for hint in hints:
            console.print(f"hint: {hint}")


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


@import_app.command("products")
def import_products(file: Path, workspace: WorkspaceOpt = Path(".")) -> None:
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
    if errors:
        table = Table("line", "field", "reason", title="first rejections")
        for number, field, reason in errors[:20]:
            table.add_row(str(number), field, reason)
        console.print(table)


@recommend_app.command("train")
def recommend_train(workspace: WorkspaceOpt = Path(".")) -> None:
    """Train the configured model on the workspace's log and report what it learned. A
    check: `pertinent serve` trains its own model on start and on schedule, or on
    POST /v1/recommendations/train."""
    system = open_system(workspace)
    try:
        with console.status("training"):
            result = system.train_recommendations()
    finally:
        system.close()
    console.print(
        f"[green]trained {result.model}[/green] on {result.users} people x "
        f"{result.items} items ({result.interactions} interactions) in "
        f"{result.seconds:.2f}s"
    )


@recommend_app.command("evaluate")
def recommend_evaluate(
    workspace: WorkspaceOpt = Path("."),
    data: Annotated[
        Path | None,
        typer.Option(
            help="CSV/JSONL of user_id,item_id,kind,timestamp instead of the workspace's log"
        ),
    ] = None,
    retail: Annotated[
        bool, typer.Option(help="use the Online Retail data set (see --retail-file)")
    ] = False,
    retail_file: Annotated[
        Path, typer.Option(help="where the Online Retail data set is")
    ] = RETAIL_PATH,
    split: Annotated[str, typer.Option(help="'time' or 'random'")] = "time",
    cutoff: Annotated[str | None, typer.Option(help="time split date, YYYY-MM-DD")] = None,
    k: Annotated[int, typer.Option(help="list length")] = 10,
    models: Annotated[str | None, typer.Option(help="comma-separated model names")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write JSON here")] = None,
) -> None:
    """Compare every configured model (and popularity) offline."""
    from pertinent.recommend.evaluate import evaluate, random_split, time_split
    from pertinent.recommend.interactions import InteractionWeights, build_matrix
    from pertinent.recommend.report import report_table, write_json
    from pertinent.recommend.retail import CUTOFF, load_retail
    from pertinent.recommend.source import interactions_from_actions, read_interactions

    settings = None
    if retail:
        interactions = load_retail(retail_file)[0]
    elif data is not None:
        interactions = read_interactions(data)
    else:
        system = open_system(workspace)
        settings = system.workspace.settings.recommendations
        with system.storage.snapshot() as tx:
            interactions = interactions_from_actions(
                tx.profiles.actions(
                    ["Product Viewed", "Product Clicked", "Product Added", "Order Completed"]
                )
            )
        system.close()
    if not interactions:
        raise InputError(
            "no interactions to evaluate",
            hint="send e-commerce events first, or pass --data FILE or --retail",
        )
    weights = settings.weights if settings else InteractionWeights()
    names = (
        models.split(",")
        if models
        else (settings.evaluate if settings else ["als", "bpr", "itemknn", "sar"])
    )
    if split == "random":
        latest = max(i.timestamp for i in interactions)
        chosen = random_split(build_matrix(interactions, weights, latest))
    elif split == "time":
        if cutoff:
            at = datetime.fromisoformat(cutoff).replace(tzinfo=UTC)
        elif retail:
            at = CUTOFF
        else:
            stamps = sorted(i.timestamp for i in interactions)
            at = stamps[int(len(stamps) * 0.8)]
        chosen = time_split(interactions, at, weights)
    else:
        raise InputError(f"unknown split {split!r}", where="--split", hint="use time or random")
    with console.status(f"evaluating {', '.join(names)} and popularity"):
        rows = evaluate(
            chosen,
            names,
            k,
            factors=settings.factors if settings else None,
            neighbours=settings.neighbours if settings else None,
        )
    console.print(report_table(rows, chosen))
    if json_out is not None:
        write_json(rows, chosen, json_out)
        console.print(f"written to {json_out}")


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
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
