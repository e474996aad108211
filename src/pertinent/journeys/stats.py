"""Numbers per journey, version and step, as a marketer reads them.

Each step shows how many entered it (the first step), wait there now, were sent, capped,
delayed by quiet hours, failed, converted (the goal, at the step they were at), and how many
left at it, by reason. The counts come from the store's running totals of the journey_step
decisions; `waiting` is counted live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pertinent.journeys.versions import JourneySet, Version
from pertinent.storage.ports import StepNumber

EXIT_PREFIX = "exit:"


@dataclass
class StepReport:
    id: str
    type: str
    numbers: dict[str, int] = field(default_factory=dict)
    exits: dict[str, int] = field(default_factory=dict)


@dataclass
class VersionReport:
    version: int
    live: bool
    steps: list[StepReport]
    totals: dict[str, int] = field(default_factory=dict)


@dataclass
class JourneyReport:
    key: str
    name: str
    trigger: str
    live_version: int | None
    versions: list[VersionReport]


def _steps(version: Version) -> list[StepReport]:
    return [StepReport(step_id, step.type) for step_id, step in version.graph.steps.items()]


def report(journeys: JourneySet, numbers: Sequence[StepNumber]) -> list[JourneyReport]:
    """One report per journey that has a version, live ones first, each version newest first."""
    by_version: dict[tuple[str, int], VersionReport] = {}
    for version in journeys.all():
        live = journeys.latest(version.key)
        by_version[(version.key, version.number)] = VersionReport(
            version.number, live is version, _steps(version)
        )
    for n in numbers:
        found = by_version.get((n.journey_key, n.version))
        if found is None:  # a version that no longer loads: its numbers still count
            found = by_version[(n.journey_key, n.version)] = VersionReport(n.version, False, [])
        step = next((s for s in found.steps if s.id == n.step), None)
        if step is None:
            step = StepReport(n.step, "unknown")
            found.steps.append(step)
        if n.metric.startswith(EXIT_PREFIX):
            reason = n.metric.removeprefix(EXIT_PREFIX)
            step.exits[reason] = step.exits.get(reason, 0) + n.n
            metric = "exited"
        else:
            metric = n.metric
        step.numbers[metric] = step.numbers.get(metric, 0) + n.n
        found.totals[metric] = found.totals.get(metric, 0) + n.n
    reports: dict[str, JourneyReport] = {}
    for (key, _number), found in sorted(by_version.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
        if key not in reports:
            latest = journeys.latest(key)
            definition = latest.definition if latest is not None else None
            reports[key] = JourneyReport(
                key,
                definition.name if definition is not None else "",
                definition.trigger.type if definition is not None else "removed",
                latest.number if latest is not None else None,
                [],
            )
        reports[key].versions.append(found)
    return sorted(reports.values(), key=lambda r: (r.live_version is None, r.key))
