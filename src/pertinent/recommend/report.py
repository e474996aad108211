"""Showing an evaluation or a selection: rich tables for people, JSON for machines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from pertinent.recommend.evaluate import Split
from pertinent.recommend.leaderboard import ReportRow


def report_table(rows: list[ReportRow], split: Split) -> Table:
    popular = next((r for r in rows if r.model == "popular"), None)
    k = rows[0].k if rows else 10
    table = Table(
        title=f"Recommendation quality · {split.description} · top {k} · "
        f"{rows[0].scores.users if rows else 0} users"
    )
    for column in (
        "model",
        f"nDCG@{k}",
        "× popular",
        f"precision@{k}",
        f"recall@{k}",
        f"MAP@{k}",
        "hit rate",
        "coverage",
        "seconds",
    ):
        table.add_column(column, justify="left" if column == "model" else "right")
    for row in rows:
        s = row.scores
        ratio = s.ndcg / popular.scores.ndcg if popular and popular.scores.ndcg else float("nan")
        table.add_row(
            row.model,
            f"{s.ndcg:.4f}",
            f"{ratio:.2f}",
            f"{s.precision:.4f}",
            f"{s.recall:.4f}",
            f"{s.map:.4f}",
            f"{s.hit_rate:.3f}",
            f"{s.coverage:.3f}",
            f"{row.seconds:.1f}",
        )
    if any(row.note for row in rows):
        table.caption = "; ".join(f"{row.model}: {row.note}" for row in rows if row.note)
    return table


def selection_table(selection: dict[str, Any]) -> Table:
    """`auto`'s leaderboard as a `Selection.as_dict()` (an artefact's or the API's) holds it."""
    table = Table(
        title=f"auto chose {selection['chosen']} ({selection['reason']}) · "
        f"{selection['holdout']} · {selection['people']} people · "
        f"{selection['seconds']:.1f}s",
        caption=f"chosen {selection['chosen_at']} · compared {selection['evaluated_at']}",
    )
    for column in ("candidate", "nDCG@10", "seconds", "status"):
        table.add_column(column, justify="left" if column in ("candidate", "status") else "right")
    for trial in selection["leaderboard"]:
        chosen = trial["label"] == selection["chosen"]
        table.add_row(
            f"[bold]{trial['label']}[/bold] ←" if chosen else trial["label"],
            "" if trial["ndcg"] is None else f"{trial['ndcg']:.4f}",
            f"{trial['seconds']:.1f}",
            trial["status"] + (f": {trial['note']}" if trial["note"] else ""),
        )
    return table


def write_json(rows: list[ReportRow], split: Split, path: Path) -> None:
    path.write_bytes(
        orjson.dumps(
            {
                "split": split.description,
                "items_outside_training": split.items_outside_train,
                "rows": [r.as_dict() for r in rows],
            },
            option=orjson.OPT_INDENT_2,
        )
    )
