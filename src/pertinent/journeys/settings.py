"""The `journeys:` section of pertinent.yaml: time zones, quiet hours, caps, webhooks."""

from __future__ import annotations

from datetime import time

from pydantic import BaseModel, ConfigDict, Field

from pertinent.journeys.model import Cap
from pertinent.journeys.timing import ZoneName


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class QuietHoursSettings(_Strict):
    start: time = time(21, 0)
    end: time = time(8, 0)


class WebhookSettings(_Strict):
    secret: str = Field(
        default="", description="HMAC-SHA256 key of the X-Pertinent-Signature header"
    )
    timeout_seconds: float = Field(default=10, gt=0, le=120)
    retry_seconds: float = Field(
        default=30, gt=0, le=3600, description="first retry after this; doubles, up to an hour"
    )
    max_attempts: int = Field(default=8, ge=1, le=50)


class JourneySettings(_Strict):
    timezone: ZoneName = Field(
        default="UTC", description="the zone of people without a valid `timezone` trait"
    )
    quiet_hours: QuietHoursSettings | None = Field(
        default_factory=QuietHoursSettings,
        description="marketing email waits out this window in the person's zone; null: off",
    )
    caps: list[Cap] = Field(
        default_factory=list, description="marketing emails per person, across all sends"
    )
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
