"""The `experiments:` section of pertinent.yaml: how results are read."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Metric = Literal["delivered", "open", "click", "conversion", "unsubscribe", "revenue"]


class ExperimentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: Metric = Field(
        default="click", description="the metric verdicts and winners are decided on"
    )
    goal: str = Field(
        default="Order Completed", min_length=1, description="the event a conversion is"
    )
    conversion_window_hours: float = Field(
        default=72, gt=0, le=24 * 90, description="a goal event counts this long after a send"
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5, description="the error rate tests keep")
    min_sample: int = Field(
        default=100, ge=2, description="recipients each variant needs before any verdict"
    )
    sequential_target: int = Field(
        default=5000,
        ge=10,
        description="recipients per variant where the always-valid test is tuned to be sharpest",
    )
    srm_threshold: float = Field(
        default=0.001, gt=0, lt=0.5, description="a sample-ratio p-value below this is a mismatch"
    )
