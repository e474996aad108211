"""Experiment results on the command line: `pertinent experiments list | show KEY`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pertinent.app import open_system
from pertinent.cli.root import WorkspaceOpt, app, console
from pertinent.experiments.report import Comparison, ExperimentReport, MetricResult
from pertinent.experiments.results import experiment_report, experiment_reports
from pertinent.experiments.summary import METRICS

experiments_app = typer.Typer(help="Read experiment results off the log.", no_args_is_help=True)
app.add_typer(experiments_app, name="experiments")

_VERDICT_STYLE = {
    "winner": "green",
    "better": "green",
    "worse": "red",
    "sample_ratio_mismatch": "red",
    "collecting": "yellow",
    "inconclusive": "white",
}


def _value(metric: str, x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.2f}" if metric == "revenue" else f"{x:.2%}"


def _interval(metric: str, low: float | None, high: float | None) -> str:
    return f"[{_value(metric, low)}, {_value(metric, high)}]"


def _difference(metric: str, c: Comparison) -> str:
    if c.difference is None:
        return "–"
    sign = "+" if c.difference >= 0 else ""
    diff = f"{sign}{c.difference:.2f}" if metric == "revenue" else f"{sign}{c.difference:.2%}"
    return diff + (f" ({c.relative:+.0%})" if c.relative is not None else "")


def _styled(verdict: str) -> str:
    return f"[{_VERDICT_STYLE[verdict]}]{verdict}[/]"


@experiments_app.command("list")
def experiments_list(workspace: WorkspaceOpt = Path(".")) -> None:
    """Every experiment an email_sent event names, with its verdict."""
    system = open_system(workspace)
    try:
        reports = experiment_reports(system.storage, system.workspace.settings.experiments)
    finally:
        system.close()
    if not reports:
        console.print("no experiments in the log yet")
        return
    table = Table("experiment", "variants", "recipients", "metric", "verdict", "winner")
    for r in reports:
        table.add_row(
            r.key,
            ", ".join(f"{v.name} ({v.recipients})" for v in r.variants),
            str(r.recipients),
            r.metric,
            _styled(r.verdict),
            r.winner or "",
        )
    console.print(table)


def _primary_table(report: ExperimentReport) -> Table:
    m = report.metric
    table = Table(
        "variant",
        "recipients",
        "share (expected)",
        f"{m} [{1 - report.alpha:.0%} CI]",
        "vs control",
        "fixed p",
        "always-valid p",
        "always-valid CI",
        "verdict",
        title=f"{report.key}: {m}, control = {report.control}",
    )
    for v in report.variants:
        result: MetricResult = v.metrics[m]
        expected = f" ({v.expected_share:.1%})" if v.expected_share is not None else ""
        c = result.vs_control
        table.add_row(
            v.name + (" (control)" if v.control and v.name != "control" else ""),
            str(v.recipients),
            f"{v.share:.1%}{expected}",
            f"{_value(m, result.value)} {_interval(m, result.low, result.high)}",
            _difference(m, c) if c else "",
            f"{c.p_value:.3f}" if c else "",
            f"{c.always_valid_p_value:.3f}" if c else "",
            _interval(m, c.always_valid_low, c.always_valid_high) if c else "",
            _styled(c.verdict) if c else "",
        )
    return table


def _all_metrics_table(report: ExperimentReport) -> Table:
    table = Table("variant", *METRICS, title="every metric per recipient")
    for v in report.variants:
        table.add_row(v.name, *(_value(m, v.metrics[m].value) for m in METRICS))
    return table


@experiments_app.command("show")
def experiments_show(
    key: Annotated[str, typer.Argument(help="the experiment's key")],
    workspace: WorkspaceOpt = Path("."),
    segments: Annotated[bool, typer.Option(help="break the metrics down by segment")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """One experiment: per variant, the metrics with intervals, the tests against the
    control, the sample-ratio check and the verdict (docs/experiments.md says how to read
    them)."""
    system = open_system(workspace)
    try:
        keys = [s.key for s in system.segments] if segments else []
        report = experiment_report(system.storage, system.workspace.settings.experiments, key, keys)
    finally:
        system.close()
    if json_out:
        console.print_json(report.model_dump_json())
        return
    console.print(_primary_table(report))
    console.print(_all_metrics_table(report))
    srm = report.sample_ratio
    if srm.p_value is not None:
        line = f"sample ratio: p = {srm.p_value:.4f}"
        console.print(
            f"[red]{line}: MISMATCH, do not trust this result[/]" if srm.mismatch else line
        )
    crossovers = sum(v.crossovers for v in report.variants)
    if crossovers:
        console.print(
            f"{crossovers} recipients saw two variants (merged profiles); counted under their first"
        )
    verdict = _styled(report.verdict) + (f": {report.winner}" if report.winner else "")
    console.print(f"verdict: {verdict}")
    for seg in report.segments:
        table = Table("variant", "recipients", *METRICS, title=f"segment {seg.segment}")
        for sv in seg.variants:
            table.add_row(sv.name, str(sv.recipients), *(_value(m, sv.metrics[m]) for m in METRICS))
        console.print(table)
