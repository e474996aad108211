"""Journeys: each with its live version's totals, and a journey's page with every version's
numbers step by step, as a funnel chart and its table (`journeys.stats.report`, as the
admin API gives them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.journeys.stats import JourneyReport, VersionReport, report
from pertinent.web.charts.hbars import Bar, hbar_chart
from pertinent.web.login import Access
from pertinent.web.render import Chrome, PageRoute, page

# The numbers a step's table has a column for, in the order a person meets them.
COLUMNS = ("entered", "waiting", "sent", "capped", "delayed", "failed", "goal", "exited")
TONES = {
    "sent": "tone-good",
    "goal": "tone-good",
    "completed": "tone-good",
    "failed": "tone-bad",
    "capped": "tone-warn",
    "delayed": "tone-warn",
    "not sent": "tone-warn",
    "exited": "tone-quiet",
}


def _ordered(numbers: dict[str, int]) -> list[tuple[str, int]]:
    """A step's numbers, those with a column first, the rest by name."""
    known = [(m, numbers[m]) for m in COLUMNS if m in numbers]
    return known + sorted((m, n) for m, n in numbers.items() if m not in COLUMNS)


def funnel(version: VersionReport) -> list[Bar]:
    """Bars for everyone who entered, then each step's numbers, then the conversions; each
    written with its share of those who entered."""
    entered = version.totals.get("entered", 0)

    def bar(label: str, n: int, group: str) -> Bar:
        share = f" · {n / entered:.0%}" if entered else ""
        return Bar(label, n, f"{n}{share}", TONES.get(label, "tone-main"), group)

    bars = [bar("entered", entered, "Entered the journey")]
    for step in version.steps:
        group = f"Step {step.id} ({step.type})"
        counted = [(m, n) for m, n in _ordered(step.numbers) if m != "entered"]
        bars.extend(bar(m, n, group) for m, n in counted)
        if not counted:
            bars.append(Bar("nothing counted", 0, "0", "tone-quiet", group))
    bars.append(bar("goal", version.totals.get("goal", 0), "Reached the goal"))
    return bars


def _version(found: JourneyReport, version: VersionReport) -> dict[str, Any]:
    label = f"{found.name or found.key} version {version.version}"
    return {
        "version": version.version,
        "live": version.live,
        "chart": hbar_chart(funnel(version), f"Numbers per step of {label}"),
        "totals": _ordered(version.totals),
        "steps": [
            {
                "id": s.id,
                "type": s.type,
                "columns": [s.numbers.get(m, 0) for m in COLUMNS],
                "other": ", ".join(f"{m}: {n}" for m, n in _ordered(s.numbers) if m not in COLUMNS),
                "exits": ", ".join(f"{r}: {n}" for r, n in sorted(s.exits.items())),
            }
            for s in version.steps
        ],
    }


def build_router(system: System, access: Access) -> APIRouter:
    router = APIRouter(route_class=PageRoute)
    reads = system.storage.reads

    def reports() -> list[JourneyReport]:
        return report(system.processor.pipeline.journeys, reads.journey_numbers())

    @router.get("/journeys", response_class=HTMLResponse)
    def journeys(chrome: Chrome = Depends(access)) -> HTMLResponse:
        listed = []
        for r in reports():
            live = next((v for v in r.versions if v.live), None)
            totals = live.totals if live is not None else {}
            listed.append(
                {
                    "key": r.key,
                    "name": r.name or r.key,
                    "trigger": r.trigger,
                    "live": r.live_version if r.live_version is not None else "removed",
                    "versions": len(r.versions),
                    "numbers": [totals.get(m, 0) for m in COLUMNS],
                }
            )
        return page(
            "journeys", "Journeys", chrome, section="/journeys", journeys=listed, columns=COLUMNS
        )

    @router.get("/journeys/{key}", response_class=HTMLResponse)
    def journey(key: str, chrome: Chrome = Depends(access)) -> HTMLResponse:
        found = next((r for r in reports() if r.key == key), None)
        if found is None:
            raise NotFoundError(
                f"no journey {key!r}", where="key", hint="the Journeys page lists every journey"
            )
        return page(
            "journey",
            f"Journey {found.name or key}",
            chrome,
            section="/journeys",
            key=key,
            name=found.name or key,
            trigger=found.trigger,
            columns=COLUMNS,
            versions=[_version(found, v) for v in found.versions],
        )

    return router
