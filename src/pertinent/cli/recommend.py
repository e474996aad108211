"""Training, the model serving now, and offline evaluation of recommendations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from pertinent.app import open_system
from pertinent.cli.root import WorkspaceOpt, app, console
from pertinent.errors import InputError
from pertinent.recommend.evaluate import Progress as ProgressReport
from pertinent.recommend.retail import ENV_VAR as RETAIL_ENV_VAR

recommend_app = typer.Typer(help="Train and evaluate recommendations.", no_args_is_help=True)
app.add_typer(recommend_app, name="recommend")

_TASKS = {"auto": "auto: comparing", "models": "evaluating"}


@contextmanager
def _progress_bars() -> Iterator[ProgressReport]:
    """A progress bar per kind of long work (the models of an evaluation, `auto`'s
    candidates), fed by the callback this yields."""
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    tasks: dict[str, TaskID] = {}

    def report(what: str, done: int, total: int, step: str) -> None:
        if what not in tasks:
            tasks[what] = bars.add_task(_TASKS.get(what, what), total=total)
        bars.update(
            tasks[what], completed=done, total=total, description=f"{_TASKS.get(what, what)} {step}"
        )

    with bars:
        yield report


@recommend_app.command("train")
def recommend_train(workspace: WorkspaceOpt = Path(".")) -> None:
    """Train on the workspace's log now and publish the model (`pertinent serve` loads it);
    under `model: auto`, compare the candidates first and show the leaderboard."""
    from pertinent.recommend.report import selection_table

    system = open_system(workspace)
    try:
        with _progress_bars() as report:
            result = system.train_recommendations(progress=report)
        selection = system.recommendations.current.selection
    finally:
        system.close()
    if selection is not None:
        console.print(selection_table(selection.as_dict()))
    console.print(
        f"[green]trained {result.model}[/green] on {result.users} people x "
        f"{result.items} items ({result.interactions} interactions) in "
        f"{result.seconds:.2f}s"
    )


@recommend_app.command("status")
def recommend_status(workspace: WorkspaceOpt = Path(".")) -> None:
    """The model serving now: which, trained when, on what; under `model: auto`, the
    leaderboard it was chosen from and when."""
    from pertinent.recommend.report import selection_table

    system = open_system(workspace)
    try:
        published = system.models.published()
        configured = system.workspace.settings.recommendations.model
    finally:
        system.close()
    if published is None:
        console.print(
            "no model published yet: `pertinent serve` trains one on start, "
            "or run `pertinent recommend train`"
        )
        return
    meta = published.meta
    trained_at = datetime.fromtimestamp(float(meta["trained_at"]), UTC)
    console.print(
        f"serving [bold]{meta.get('model')}[/bold] (configured: {configured}), version "
        f"{published.version}, trained {trained_at:%Y-%m-%d %H:%M:%S} UTC on "
        f"{meta.get('users')} people x {meta.get('items')} items "
        f"({meta.get('interactions')} interactions)"
    )
    if meta.get("selection"):
        console.print(selection_table(meta["selection"]))


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
        Path | None,
        typer.Option(
            envvar=RETAIL_ENV_VAR,
            help="the Online Retail data set (implies --retail; default: "
            "datasets/online_retail.csv.gz in the current directory, as in a clone)",
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="'time' or 'random'")] = "time",
    cutoff: Annotated[str | None, typer.Option(help="time split date, YYYY-MM-DD")] = None,
    k: Annotated[int, typer.Option(help="list length")] = 10,
    models: Annotated[
        str | None, typer.Option(help="comma-separated model names (auto included)")
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write JSON here")] = None,
) -> None:
    """Compare models (and `auto`, and popularity) offline: a leaderboard."""
    from pertinent.recommend.evaluate import quantile_time, random_split, split_at
    from pertinent.recommend.interactions import InteractionColumns
    from pertinent.recommend.leaderboard import compare
    from pertinent.recommend.report import report_table, write_json
    from pertinent.recommend.retail import CUTOFF, find_retail_file, load_retail
    from pertinent.recommend.settings import RecommendationSettings
    from pertinent.recommend.source import interactions_from_actions, read_interactions

    settings = RecommendationSettings()
    retail = retail or retail_file is not None
    if retail:
        interactions = load_retail(find_retail_file(retail_file, Path.cwd()))[0]
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
    columns = InteractionColumns.of(interactions)
    names = models.split(",") if models else settings.evaluate
    if split == "random":
        latest = max(i.timestamp for i in interactions)
        chosen = random_split(columns, settings.weights, latest)
    elif split == "time":
        if cutoff:
            at = datetime.fromisoformat(cutoff).replace(tzinfo=UTC)
        elif retail:
            at = CUTOFF
        else:
            at = quantile_time(columns, 0.8)
        chosen = split_at(columns, at, settings.weights)
    else:
        raise InputError(f"unknown split {split!r}", where="--split", hint="use time or random")
    with _progress_bars() as report:
        rows = compare(chosen, names, k, settings=settings, progress=report)
    console.print(report_table(rows, chosen))
    if json_out is not None:
        write_json(rows, chosen, json_out)
        console.print(f"written to {json_out}")
