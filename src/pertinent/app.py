"""The composition root: the only place that knows which adapter is behind which port."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from pertinent.clock import Clock, WallClock
from pertinent.config import Workspace, load_workspace
from pertinent.content.context import ContextBuilder
from pertinent.content.links import LinkRules, SystemUrls
from pertinent.content.preview import Previewer
from pertinent.content.render import Renderer
from pertinent.content.templates import TemplateLibrary
from pertinent.delivery.dkim import load_signer
from pertinent.delivery.message import Originator
from pertinent.delivery.smtp import SmtpSettings, SmtpTransport
from pertinent.delivery.webhooks.configured import EspWebhooks
from pertinent.errors import ConfigError, TemplateError
from pertinent.ingest.pipeline import Ingestor, Rules
from pertinent.journeys.caps import Category, SendPolicy
from pertinent.journeys.plan import Plan, plan_files, workspace_files, write_files
from pertinent.journeys.references import check_references
from pertinent.journeys.settings import JourneySettings
from pertinent.journeys.timing import UTC_ZONE, QuietHours, zone_named
from pertinent.journeys.versions import JourneySet, register
from pertinent.journeys.webhooks import WebhookSender
from pertinent.privacy.consent import ConsentPolicy
from pertinent.processor.batch import Pipeline, Processor, retrying
from pertinent.processor.compose import Composer
from pertinent.processor.rfm import RfmRun, rfm_due, score_rfm
from pertinent.processor.send import Outgoing, Sender, Transport
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
from pertinent.tracking.tokens import TrackingTokens

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
log = logging.getLogger("pertinent")
# The artefact under which applied definitions travel to every process.
DEFINITIONS = "workspace"


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
    tokens: TrackingTokens
    contexts: ContextBuilder
    previews: Previewer
    sender: Sender
    recommendations: RecommendationService
    models: ModelSync
    webhooks: WebhookSender
    templates: TemplateLibrary = field(repr=False)
    esp: EspWebhooks = field(default_factory=EspWebhooks, repr=False)
    segments_synced: bool = False
    # The newest applied definitions this process runs on (artefact version; 0: its folder's).
    definitions_version: int = 0

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
            called = asyncio.run(self.webhooks.deliver_due())
            total += done
            if not done and not sent and not called:
                return total

    def reload_definitions(self) -> None:
        """Load the workspace folder's segments, journeys and templates again and run on
        them from the next batch (a changed journey is registered as a new version)."""
        workspace = load_workspace(self.workspace.root)
        segments = SegmentSet(workspace.segments, workspace.settings.profiles)
        check_references(
            workspace.journeys, [s.key for s in segments], self.templates, workspace.templates_dir
        )
        journeys = retrying(lambda: register_journeys(self.storage, workspace, self.clock))
        pipeline = replace(self.processor.pipeline, segments=segments, journeys=journeys)
        self.processor.reload(pipeline)
        self.workspace, self.segments = workspace, segments
        self.sync_segments()  # new and changed segments backfill, removed ones close

    def apply_definitions(self, files: Mapping[str, str]) -> Plan:
        """Put these definition files live: checked whole, written into the workspace,
        loaded here and published for every other process (`follow_definitions`)."""
        plan = plan_files(
            self.storage, self.workspace, self.processor.pipeline.journeys, files, self.clock.now()
        )
        broken = [f"{t.name}: {'; '.join(t.problems)}" for t in plan.templates if t.problems]
        if broken:
            raise ConfigError(
                f"templates that cannot render: {' | '.join(broken)}", where="templates"
            )
        write_files(self.workspace.root, files)
        self.reload_definitions()
        with self.storage.transaction() as tx:
            self.definitions_version = tx.artefacts.put(
                DEFINITIONS, orjson.dumps(dict(files)), {"files": len(files)}, self.clock.now()
            )
            tx.artefacts.prune(DEFINITIONS, keep=5)
        return plan

    def follow_definitions(self) -> bool:
        """Take definitions another process applied since this one last looked; True if
        they changed anything here."""
        with self.storage.snapshot() as tx:
            latest = tx.artefacts.latest(DEFINITIONS)
            if latest is None or latest.version <= self.definitions_version:
                return False
            blob = tx.artefacts.blob(DEFINITIONS, latest.version)
        self.definitions_version = latest.version
        files = orjson.loads(blob or b"{}")
        if files == workspace_files(self.workspace.root):
            return False
        write_files(self.workspace.root, files)
        self.reload_definitions()
        return True

    def close(self) -> None:
        self.ingestor.close()
        self.storage.close()


def register_journeys(storage: Storage, workspace: Workspace, clock: Clock) -> JourneySet:
    """The workspace's journeys as versions in the store (a changed one is a new version)."""
    with storage.transaction() as tx:
        return register(tx.journeys, workspace.journeys, clock.now())


def send_policy(settings: JourneySettings, templates: TemplateLibrary) -> SendPolicy:
    def category_of(template: str) -> Category:
        return templates.get(template).settings.category

    quiet = settings.quiet_hours
    zone = zone_named(settings.timezone)
    assert zone is not None, "JourneySettings checks the zone"
    return SendPolicy(
        settings.caps,
        QuietHours(quiet.start, quiet.end) if quiet is not None else None,
        zone,
        category_of,
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
    base_url: str = DEFAULT_BASE_URL,
) -> System:
    """Wire a workspace. `slot` names this process among its role's processes on this host
    (the supervisor numbers them), so a restarted sender takes back its own rows. `base_url`
    is where links point when the workspace does not say (`serve` passes its address)."""
    clock = clock or WallClock()
    settings = workspace.settings
    storage = storage or open_storage(workspace, database_url=database_url, schema=schema)
    tokens = TrackingTokens(settings.secret)
    zone = zone_named(settings.journeys.timezone) or UTC_ZONE
    templates = TemplateLibrary(workspace.templates_dir, settings.content, zone)
    renderer = Renderer(
        templates,
        SystemUrls(settings.server.base_url or base_url, tokens),
        LinkRules.of(settings.content.allowed_link_hosts),
    )
    segments = SegmentSet(workspace.segments, settings.profiles)
    check_references(
        workspace.journeys, [s.key for s in segments], templates, workspace.templates_dir
    )
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

    contexts = ContextBuilder([recommendations_hook], settings.profiles)
    consent = ConsentPolicy(settings.consent)
    journeys = retrying(lambda: register_journeys(storage, workspace, clock))
    pipeline = Pipeline(
        segments=segments,
        journeys=journeys,
        composer=Composer(renderer, settings.secret, contexts, consent=consent),
        policy=send_policy(settings.journeys, templates),
    )
    processor = Processor(
        storage,
        clock,
        pipeline,
        batch_size=settings.processor.batch_size,
        partitions=settings.processor.partitions,
    )
    smtp = SmtpSettings.from_url(settings.smtp.url, timeout=settings.smtp.timeout_seconds)
    delivery = settings.delivery
    mail_from = Originator.from_settings(
        settings.smtp.sender, delivery.bounces.address if delivery.bounces else None
    )
    outgoing = Outgoing(
        mail_from,
        load_signer(workspace.root, delivery.dkim, mail_from.domain),
        delivery.rate_limits,
    )
    sender = Sender(
        storage,
        clock,
        transport or SmtpTransport(smtp, connections=delivery.connections),
        outgoing,
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
        tokens=tokens,
        contexts=contexts,
        previews=Previewer(renderer, contexts, storage.reads, workspace.journeys, clock),
        sender=sender,
        recommendations=recommendations,
        models=models,
        webhooks=WebhookSender(
            storage,
            clock,
            settings.journeys.webhooks,
            owner=f"{socket.gethostname()}/sender-{slot}",
        ),
        templates=templates,
        esp=EspWebhooks.from_settings(delivery.webhooks),
    )


def open_system(root: Path, **kwargs: Any) -> System:
    """Load the workspace at `root` and build its system."""
    return build_system(load_workspace(root), **kwargs)
