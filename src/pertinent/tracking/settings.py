"""The `engagement:` section of pertinent.yaml: when an open or a click was a machine's."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork


class EngagementSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    click_after_delivery_seconds: float = Field(
        default=10,
        ge=0,
        description="a click sooner than this after delivery is a link scanner's (0: never)",
    )
    burst_links: int = Field(
        default=3, ge=2, description="this many different links of one email clicked ..."
    )
    burst_seconds: float = Field(
        default=5, gt=0, description="... within this many seconds is a link scanner"
    )
    machine_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description="more networks of mail proxies and scanners, besides the built-in ones",
    )
    machine_user_agents: list[str] = Field(
        default_factory=list,
        description="more user-agent fragments of proxies and scanners (case does not matter)",
    )
