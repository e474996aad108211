"""The composition root: the only place that knows which adapter is behind which port."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from pertinent.clock import Clock, WallClock
from pertinent.config import Workspace, load_workspace
from pertinent.content.render import Renderer
from pertinent.content.templates import TemplateLibrary
from pertinent.delivery.smtp import SmtpSettings, SmtpTransport
from pertinent.errors import ConfigError, TemplateError
from pertinent.ingest.pipeline import Ingestor, Rules
from pertinent.journeys.model import SendStep
from pertinent.privacy.consent import ConsentPolicy
from pertinent.processor.batch import Pipeline, Processor
from pertinent.processor.compose import Composer
from pertinent.processor.rfm import RfmRun, rfm_due, score_rfm
from pertinent.processor.send import Sender, Transport
from pertinent.profiles.state import ProfileState
from pertinent.recommend.artefacts import ModelSync
from pertinent.recommend.cache import make_cache
from pertinent.recommend.evaluate import Progress
from pertinent.recommend.serve import RecommendationService, TrainResult, leaning_categories
from pertinent.recommend.template import TemplateRecommendations
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.guard import SizeWarning, segments_in_use, undersized
from pertinent.segments.sync import SegmentChange, sync_definitions
from pertinent.storage.ports import Storage
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage
from pertinent.tracking.tokens import TokenSigner

log = logging.getLogger("pertinent")


@dataclass
class System:
    """Everything one Pertinent process may run, wired together; each role uses its part."""

    workspace: Workspace
    clock: Clock
    storage: Storage
    ingestor: Ingestor
    segments: SegmentSet
    processor: Processor
    renderer: Renderer
    signer: TokenSigner
    sender: Sender
    recommendations: RecommendationService
    models: ModelSync
    templates: TemplateLibrary = field(repr=False)
    segments_synced: bool = False

    def sync_segments(
        self, progress: Callable[[int, int], None] | None = None
    ) -> list[SegmentChange]:
        """Bring the stored segment definitions in line with the workspace (backfilling new
        and changed segments, closing removed ones), and log segments in use that are too
        small to learn from."""
        changes = sync_definitions(self.storage, self.segments, self.clock.now(), progress=progress)
        self.segments_synced = True
        for change in changes:
            if change.change != "unchanged":
                log.info(
                    "segment %s %s (version %d): %d entered, %d left, %d in it",
                    change.key,
                    change.change,
                    change.version,
                    change.entered,
                    change.exited,
                    change.size,
                )
        for warning in self.size_warnings():
            log.warning("%s", warning)
        return changes

    def size_warnings(self) -> list[SizeWarning]:
        """Segments that journeys use with fewer people than `segments.min_size`."""
        in_use = segments_in_use((f"journey {j.key}", j) for j in self.workspace.journeys)
        minimum = self.workspace.settings.segments.min_size
        return undersized(self.storage.reads.segment_sizes(), in_use, minimum)

    def rfm_due(self) -> bool:
        every = timedelta(hours=self.workspace.settings.profiles.rfm.every_hours)
        return rfm_due(self.storage, self.clock.now(), every)

    def score_rfm(self) -> RfmRun:
        """Score every customer's recency, frequency and monetary value now, and move the
        people whose segments read the scores (`processor.rfm`)."""
        return score_rfm(self.storage, self.segments, self.clock.now())

    def train_recommendations(self, progress: Progress | None = None) -> TrainResult:
        """Train on the whole log now and publish the model to every process."""
        return self.models.train(progress)

    def run_until_idle(self) -> int:
        """Process, run timers, retrain when due and send, in this thread, until nothing is
        left to do now (tests, the demo, `pertinent process --until-idle`); return events
        processed. `pertinent serve` runs the same work in separate processes instead."""
        if not self.segments_synced:
            self.sync_segments()
        total = 0
        while True:
            done = self.processor.run_until_idle()
            if self.models.retrain_due():
                self.models.train()
            if self.rfm_due():
                self.score_rfm()
                done += self.processor.run_until_idle()
            sent = asyncio.run(self.sender.send_due())
            total += done
            if not done and not sent:
                return total

    def close(self) -> None:
        self.ingestor.close()
        self.storage.close()


def _check_references(ws: Workspace, segments: SegmentSet, templates: TemplateLibrary) -> None:
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


def _check_topics(consent: ConsentPolicy, templates: TemplateLibrary) -> None:
    """Each template's topic is one the workspace has: a typo would otherwise send to nobody
    (no one is opted in to a topic that does not exist) without a word. A template that does
    not load is left to fail its emails, each with the reason."""
    for name in templates.names():
        try:
            topic = templates.get(name).settings.topic
        except TemplateError:
            continue
        if topic is not None and (problem := consent.unknown(topic)) is not None:
            raise ConfigError(
                f"topic: {problem}", where=str(templates.root / name / "template.yaml")
            )


def open_storage(
    workspace: Workspace, *, database_url: str | None = None, schema: str | None = None
) -> Storage:
    return SqlStorage(Database(database_url or workspace.database_url(), schema=schema))


def build_system(
    workspace: Workspace,
    *,
    clock: Clock | None = None,
    transport: Transport | None = None,
    storage: Storage | None = None,
    database_url: str | None = None,
    schema: str | None = None,
    slot: int = 0,
) -> System:
    """Wire a workspace. `slot` names this process among its role's processes on this host
    (the supervisor numbers them), so a restarted sender takes back its own rows."""
    clock = clock or WallClock()
    settings = workspace.settings
    storage = storage or open_storage(workspace, database_url=database_url, schema=schema)
    signer = TokenSigner(settings.secret)
    templates = TemplateLibrary(workspace.templates_dir)
    renderer = Renderer(templates, signer, settings.server.base_url)
    segments = SegmentSet(workspace.segments, settings.profiles)
    _check_references(workspace, segments, templates)
    _check_topics(ConsentPolicy(settings.consent), templates)
    recommendations = RecommendationService(
        settings.recommendations, make_cache(settings.recommendations.cache)
    )
    trait_names = settings.recommendations.cold_start_traits

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

    consent = ConsentPolicy(settings.consent)
    pipeline = Pipeline(
        segments=segments,
        journeys={j.key: j for j in workspace.journeys},
        composer=Composer(
            renderer,
            settings.secret,
            hooks=[recommendations_hook],
            consent=consent,
            profiles=settings.profiles,
        ),
    )
    processor = Processor(
        storage,
        clock,
        pipeline,
        batch_size=settings.processor.batch_size,
        partitions=settings.processor.partitions,
    )
    smtp = SmtpSettings.from_url(settings.smtp.url, timeout=settings.smtp.timeout_seconds)
    sender = Sender(
        storage,
        clock,
        transport or SmtpTransport(smtp),
        settings.smtp.sender,
        owner=f"{socket.gethostname()}/sender-{slot}",
        retry_base=timedelta(seconds=settings.smtp.retry_seconds),
        consent=consent,
    )
    retrain = settings.recommendations.retrain_minutes
    models = ModelSync(
        storage, recommendations, clock, timedelta(minutes=retrain) if retrain else None
    )
    return System(
        workspace=workspace,
        clock=clock,
        storage=storage,
        ingestor=Ingestor(storage, clock, Rules.of(workspace)),
        segments=segments,
        processor=processor,
        renderer=renderer,
        signer=signer,
        sender=sender,
        recommendations=recommendations,
        models=models,
        templates=templates,
    )


def open_system(root: Path, **kwargs: Any) -> System:
    """Load the workspace at `root` and build its system."""
    return build_system(load_workspace(root), **kwargs)
