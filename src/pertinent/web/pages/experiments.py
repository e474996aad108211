"""Experiments: each with its verdict, and an experiment's page with every metric per
variant and each treatment against the control, as interval charts (fixed-horizon and
always-valid) and their tables (`experiments.results`, as the admin API gives them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from fastapi.responses import HTMLResponse

from pertinent.app import System
from pertinent.experiments.report import ExperimentReport, MetricResult
from pertinent.experiments.results import experiment_report, experiment_reports
from pertinent.experiments.settings import Metric
from pertinent.experiments.summary import METRICS, RATES
from pertinent.web.charts.intervals import Estimate, interval_chart
from pertinent.web.login import Access
from pertinent.web.render import Chrome, PageRoute, page

VERDICTS = {
    "collecting": "Collecting: not every variant has enough recipients for a verdict yet.",
    "sample_ratio_mismatch": "Sample ratio mismatch: the variants' sizes are not the split "
    "asked for, so assignment or logging is broken and no number here can be trusted.",
    "winner": "A winner, by the always-valid test on the decision metric.",
    "inconclusive": "Inconclusive so far: no variant differs from the control beyond doubt.",
}


def number(value: float | None, rate: bool) -> str:
    if value is None:
        return "–"
    return f"{value * 100:.2f}%" if rate else f"{value:,.2f}"


def between(low: float | None, high: float | None, rate: bool) -> str:
    return f"{number(low, rate)} to {number(high, rate)}" if low is not None else "–"


def _metric(found: ExperimentReport, metric: Metric) -> dict[str, Any]:
    rate = metric in RATES
    results: list[tuple[str, int, MetricResult]] = [
        (v.name, v.recipients, v.metrics[metric]) for v in found.variants
    ]
    values = [Estimate(name, r.value, r.low, r.high, tone="tone-main") for name, _n, r in results]
    compared = [
        Estimate(
            name,
            r.vs_control.difference,
            r.vs_control.low,
            r.vs_control.high,
            r.vs_control.always_valid_low,
            r.vs_control.always_valid_high,
            tone="tone-good"
            if r.vs_control.verdict == "better"
            else "tone-bad"
            if r.vs_control.verdict == "worse"
            else "tone-main",
        )
        for name, _n, r in results
        if r.vs_control is not None
    ]
    rows = []
    for name, n, r in results:
        c = r.vs_control
        rows.append(
            {
                "variant": name,
                "recipients": n,
                "value": number(r.value, rate),
                "interval": between(r.low, r.high, rate),
                "difference": number(c.difference, rate) if c else "control",
                "fixed": between(c.low, c.high, rate) if c else "",
                "p": f"{c.p_value:.3g}" if c else "",
                "always": between(c.always_valid_low, c.always_valid_high, rate) if c else "",
                "always_p": f"{c.always_valid_p_value:.3g}" if c else "",
                "verdict": c.verdict if c else "",
            }
        )
    return {
        "name": metric,
        "decides": metric == found.metric,
        "values": interval_chart(values, f"{metric} per variant", percent=rate),
        "compared": interval_chart(
            compared, f"{metric}: each variant minus the control", reference=0.0, percent=rate
        )
        if compared
        else None,
        "rows": rows,
    }


def build_router(system: System, access: Access) -> APIRouter:
    router = APIRouter(route_class=PageRoute)
    settings = system.workspace.settings.experiments

    @router.get("/experiments", response_class=HTMLResponse)
    def experiments(chrome: Chrome = Depends(access)) -> HTMLResponse:
        listed = [
            {
                "key": r.key,
                "metric": r.metric,
                "recipients": r.recipients,
                "variants": ", ".join(f"{v.name} ({v.recipients})" for v in r.variants),
                "verdict": r.verdict.replace("_", " "),
                "winner": r.winner or "",
            }
            for r in experiment_reports(system.storage, settings)
        ]
        return page(
            "experiments", "Experiments", chrome, section="/experiments", experiments=listed
        )

    @router.get("/experiments/{key}", response_class=HTMLResponse)
    def experiment(
        key: str = Path(max_length=128), chrome: Chrome = Depends(access)
    ) -> HTMLResponse:
        found = experiment_report(system.storage, settings, key, [s.key for s in system.segments])
        ordered = sorted(METRICS, key=lambda m: m != found.metric)
        return page(
            "experiment",
            f"Experiment {key}",
            chrome,
            section="/experiments",
            key=key,
            report=found.model_dump(mode="json"),
            explained=VERDICTS[found.verdict],
            confidence=f"{1 - found.alpha:.0%}",
            metrics=[_metric(found, m) for m in ordered],
            segments=[
                {
                    "segment": s.segment,
                    "variants": [
                        {
                            "name": v.name,
                            "recipients": v.recipients,
                            "values": [number(v.metrics.get(m), m in RATES) for m in METRICS],
                        }
                        for v in s.variants
                    ],
                }
                for s in found.segments
                if any(v.recipients for v in s.variants)
            ],
            names=METRICS,
        )

    return router
