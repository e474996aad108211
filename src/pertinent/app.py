"""The composition root: the only place that knows which adapter is behind which port."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pertinent.clock import Clock, WallClock
from pertinent.compose import Composer
from pertinent.config import Workspace, load_workspace
from pertinent.content.render import Renderer
from pertinent.content.templates import TemplateLibrary
from pertinent.delivery.sender import Sender, Transport
from pertinent.delivery.smtp import SmtpSettings, SmtpTransport
from pertinent.errors import ConfigError
from pertinent.events.system import system_event
from pertinent.ingest.pipeline import Ingestor
from pertinent.journeys.model import SendStep
from pertinent.journeys.runtime import JourneyRuntime
from pertinent.processor import Processor
from pertinent.profiles.state import ProfileState
from pertinent.recommend.cache import make_cache
from pertinent.recommend.serve import RecommendationService, TrainResult, leaning_categories
from pertinent.recommend.source import train_from_storage
from pertinent.recommend.template import TemplateRecommendations
from pertinent.segments.engine import SegmentEngine
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage
from pertinent.tracking.tokens import TokenSigner
from pertinent.worker import Worker


@dataclass
class System:
    """Everything `pertinent serve` runs, wired together."""

    workspace: Workspace
    clock: Clock
    storage: SqlStorage
    ingestor: Ingestor
    segments: SegmentEngine
    processor: Processor
    renderer: Renderer
    signer: TokenSigner
    sender: Sender
    worker: Worker
    recommendations: RecommendationService
    templates: TemplateLibrary = field(repr=False)

    def train_recommendations(self) -> TrainResult:
        return train_from_storage(self.storage, self.recommendations, self.clock.now())

    def close(self) -> None:
        self.storage.close()


def _check_references(ws: Workspace, segments: SegmentEngine, templates: TemplateLibrary) -> None:
    known_templates = set(templates.names())
    for journey in ws.journeys:
        where = f"journeys/{journey.key}"
        trigger = journey.trigger
        if trigger.type == "segment_entered" and segments.by_key(trigger.segment) is None:
            raise ConfigError(f"trigger names unknown segment {trigger.segment!r}", where=where)
        for index, step in enumerate(journey.steps):
            if isinstance(step, SendStep) and step.template not in known_templates:
                raise ConfigError(
                    f"steps.{index}.template: no template {step.template!r}",
                    where=where,
                    hint=f"templates are folders in {ws.templates_dir}: "
                    f"{', '.join(sorted(known_templates)) or 'none yet'}",
                )


def build_system(
    workspace: Workspace,
    *,
    clock: Clock | None = None,
    transport: Transport | None = None,
    database_url: str | None = None,
    schema: str | None = None,
) -> System:
    clock = clock or WallClock()
    storage = SqlStorage(Database(database_url or workspace.database_url(), schema=schema))
    signer = TokenSigner(workspace.settings.secret)
    templates = TemplateLibrary(workspace.templates_dir)
    renderer = Renderer(templates, signer, workspace.settings.server.base_url)
    segments = SegmentEngine(workspace.segments)
    _check_references(workspace, segments, templates)
    recommendations = RecommendationService(
        workspace.settings.recommendations, make_cache(workspace.settings.recommendations.cache)
    )

    trait_names = workspace.settings.recommendations.cold_start_traits

    def recommendations_hook(state: ProfileState, context: Mapping[str, Any]) -> dict[str, Any]:
        event = context.get("event") or {}
        product = (event.get("properties") or {}).get("product_id")
        return {
            "recommendations": TemplateRecommendations(
                recommendations,
                state.profile_id,
                clock.now(),
                product_id=str(product) if product is not None else None,
                leaning=lambda: leaning_categories(state.traits, state.computed, trait_names),
            )
        }

    composer = Composer(renderer, clock, hooks=[recommendations_hook])
    journeys = JourneyRuntime(
        workspace.journeys,
        composer,
        lambda pid, name, props: system_event(name, pid, props, clock.now()),
    )
    processor = Processor(storage, clock, segments, journeys)
    transport = transport or SmtpTransport(SmtpSettings.from_url(workspace.settings.smtp.url))
    sender = Sender(storage, clock, transport, workspace.settings.smtp.sender)
    settings = workspace.settings.processor
    retrain = workspace.settings.recommendations.retrain_minutes
    worker = Worker(
        processor,
        sender,
        batch_size=settings.batch_size,
        poll_interval=settings.poll_interval_seconds,
        clock=clock,
        retrain=lambda: train_from_storage(storage, recommendations, clock.now()),
        retrain_every=timedelta(minutes=retrain) if retrain else None,
    )
    return System(
        workspace=workspace,
        clock=clock,
        storage=storage,
        ingestor=Ingestor(storage, clock),
        segments=segments,
        processor=processor,
        renderer=renderer,
        signer=signer,
        sender=sender,
        worker=worker,
        templates=templates,
        recommendations=recommendations,
    )


def open_system(root: Path, **kwargs: object) -> System:
    """Load the workspace at `root` and build its system."""
    return build_system(load_workspace(root), **kwargs)  # type: ignore[arg-type]
