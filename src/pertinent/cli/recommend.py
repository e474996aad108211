"""Training and offline evaluation of recommendations."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from pertinent.app import open_system
from pertinent.cli.root import WorkspaceOpt, app, console
from pertinent.errors import InputError
from pertinent.recommend.retail import ENV_VAR as RETAIL_ENV_VAR

recommend_app = typer.Typer(help="Train and evaluate recommendations.", no_args_is_help=True)
app.add_typer(recommend_app, name="recommend")


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
    models: Annotated[str | None, typer.Option(help="comma-separated model names")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="also write JSON here")] = None,
) -> None:
    """Compare every configured model (and popularity) offline."""
    from pertinent.recommend.evaluate import evaluate, random_split, time_split
    from pertinent.recommend.interactions import InteractionWeights, build_matrix
    from pertinent.recommend.report import report_table, write_json
    from pertinent.recommend.retail import CUTOFF, find_retail_file, load_retail
    from pertinent.recommend.source import interactions_from_actions, read_interactions

    settings = None
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
