"""A workspace's journeys against its segments and templates: every name they use exists."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path

from pertinent.content.templates import TemplateLibrary
from pertinent.errors import ConfigError
from pertinent.journeys.model import JourneyDefinition, SendStep
from pertinent.segments.language import referenced_segments


def check_references(
    journeys: Sequence[JourneyDefinition],
    segments: Collection[str],
    templates: TemplateLibrary,
    templates_dir: Path,
) -> None:
    """Raise a ConfigError naming the journey and key path of the first unknown segment or
    template; a template's broken `template.yaml` is raised as its own error."""
    known = set(templates.names())
    for journey in journeys:
        where = f"journeys/{journey.key}"
        trigger = journey.trigger
        segment = getattr(trigger, "segment", None)
        if segment is not None and segment not in segments:
            raise ConfigError(f"trigger.segment: no segment {segment!r}", where=where)
        for path, cond in journey.conditions():
            unknown = referenced_segments(cond) - set(segments)
            if unknown:
                raise ConfigError(f"{path}: no segment {sorted(unknown)[0]!r}", where=where)
        for index, step in enumerate(journey.steps):
            if not isinstance(step, SendStep):
                continue
            if step.template not in known:
                raise ConfigError(
                    f"steps.{index}.template: no template {step.template!r}",
                    where=where,
                    hint=f"templates are folders in {templates_dir}: "
                    f"{', '.join(sorted(known)) or 'none yet'}",
                )
            templates.settings_of(step.template)  # a broken template.yaml is an error at start
