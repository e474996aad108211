"""Experiments over HTTP (admin key): every experiment found in the log, and one in full."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from pertinent.api.auth import KeyRing, admin_key_dependency
from pertinent.app import System
from pertinent.experiments.report import ExperimentReport, Verdict
from pertinent.experiments.results import experiment_report, experiment_reports


class VariantCount(BaseModel):
    name: str
    recipients: int


class ExperimentListed(BaseModel):
    key: str
    control: str | None
    allocation: str
    metric: str
    recipients: int
    variants: list[VariantCount]
    first_sent: datetime | None
    last_sent: datetime | None
    verdict: Verdict
    winner: str | None
    sample_ratio_mismatch: bool


def build_router(system: System) -> APIRouter:
    router = APIRouter(
        prefix="/v1",
        tags=["experiments"],
        dependencies=[
            Depends(admin_key_dependency(KeyRing.from_settings(system.workspace.settings.keys)))
        ],
    )
    settings = system.workspace.settings.experiments

    @router.get("/experiments", response_model=list[ExperimentListed])
    def experiments() -> list[ExperimentListed]:
        """Every experiment an `email_sent` event names, with its verdict."""
        return [
            ExperimentListed(
                key=r.key,
                control=r.control,
                allocation=r.allocation,
                metric=r.metric,
                recipients=r.recipients,
                variants=[VariantCount(name=v.name, recipients=v.recipients) for v in r.variants],
                first_sent=r.first_sent,
                last_sent=r.last_sent,
                verdict=r.verdict,
                winner=r.winner,
                sample_ratio_mismatch=r.sample_ratio.mismatch,
            )
            for r in experiment_reports(system.storage, settings)
        ]

    @router.get("/experiments/{key}", response_model=ExperimentReport)
    def experiment(
        key: str = Path(max_length=128),
        segments: bool = Query(True, description="break the metrics down by segment"),
    ) -> ExperimentReport:
        """Per variant: recipients, each metric with its interval, each treatment against
        the control (fixed-horizon and always-valid p-values and intervals, verdict), the
        sample-ratio check and the experiment's verdict. See docs/experiments.md."""
        keys = [s.key for s in system.segments] if segments else []
        return experiment_report(system.storage, settings, key, keys)

    return router
