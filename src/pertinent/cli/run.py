"""Starting Pertinent: a new workspace, serving, processing, and the demo."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from pertinent.app import System, open_system
from pertinent.cli.delivery import dkim_record
from pertinent.cli.root import WorkspaceOpt, app, console, err
from pertinent.errors import InputError
from pertinent.scaffold import write_example_workspace


@app.command()
def init(directory: Path) -> None:
    """Write a working example workspace into DIRECTORY, with new keys shown once."""
    keys = write_example_workspace(directory)
    console.print(f"[green]Workspace written to {directory}[/green].")
    console.print(
        "Its API keys, shown this once (pertinent.yaml keeps only their hashes):\n"
        f"  browser write key  {keys.browser}   (for analytics.js in your pages)\n"
        f"  server write key   {keys.server}   (for your servers; may write the catalogue)\n"
        f"  admin key          {keys.admin}",
        soft_wrap=True,
    )
    dkim_record(directory)
    console.print(f"Next: pertinent serve --workspace {directory}")


ROLES = ("api", "processor", "sender")


_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _refuse_demo_keys(system: System, host: str) -> None:
    """The demo's keys are published: off the loopback they would open the API to anyone."""
    if host not in _LOOPBACK and system.workspace.settings.keys.has_demo_keys():
        raise InputError(
            f"refusing to serve on {host} with the published demo keys",
            where="keys",
            hint="set your own: PERTINENT_WRITE_KEY, PERTINENT_SERVER_KEY, PERTINENT_ADMIN_KEY, "
            "or `pertinent keys new`",
        )


def _served_url(host: str, port: int) -> str:
    """Where links point when pertinent.yaml sets no `server.base_url`: the address served."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _run_role(role: str, workspace: Path, host: str, port: int, slot: int) -> None:
    """One role in this process, until Ctrl-C or SIGTERM."""
    system = open_system(workspace, slot=slot, base_url=_served_url(host, port))
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
            run_sender(system, stop, slot=slot)
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
    try:
        _refuse_demo_keys(system, host)
        if system.workspace.settings.server.base_url is None and host not in _LOOPBACK:
            err.print(
                f"[yellow]warning:[/yellow] links in emails point to {_served_url(host, port)};"
                " set server.base_url (or PERTINENT_BASE_URL) to the address people reach.",
                soft_wrap=True,
            )
    finally:
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
