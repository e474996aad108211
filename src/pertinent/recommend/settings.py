"""The `recommendations:` section of pertinent.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pertinent.recommend.interactions import InteractionWeights
from pertinent.recommend.models import FactorSettings, NeighbourSettings


class CacheSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["memory", "redis"] = "memory"
    size: int = Field(default=10_000, ge=0)
    url: str = "redis://127.0.0.1:6379/0"
    ttl_seconds: int = Field(default=3600, ge=1)


class RecommendationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Literal["als", "bpr", "itemknn", "sar", "sar_lift", "popular", "trending"] = "sar"
    evaluate: list[str] = Field(default_factory=lambda: ["als", "bpr", "itemknn", "sar"])
    weights: InteractionWeights = Field(default_factory=InteractionWeights)
    factors: FactorSettings = Field(default_factory=FactorSettings)
    neighbours: NeighbourSettings = Field(default_factory=NeighbourSettings)
    exclude_seen: bool = Field(
        default=True, description="never recommend what a person already interacted with"
    )
    exclude_purchased_days: int | None = Field(
        default=90, ge=0, description="leave out what a person bought this recently (0: ever)"
    )
    cold_start_traits: list[str] = Field(
        default_factory=lambda: ["interests"],
        description="traits whose values name categories a new person leans to",
    )
    max_per_category: int | None = Field(default=None, ge=1)
    min_interactions: int = Field(
        default=3, ge=0, description="below this, a person gets the cold-start answer"
    )
    trending_days: int = Field(default=7, ge=1)
    retrain_minutes: float | None = Field(default=60, gt=0)
    cache: CacheSettings = Field(default_factory=CacheSettings)
