"""The `recommendations:` section of pertinent.yaml."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pertinent.recommend.interactions import InteractionWeights
from pertinent.recommend.models import EaseSettings, FactorSettings, ModelName, NeighbourSettings

# What `auto` may choose from: every model but `trending` (popularity over a window, which
# needs its own training data and is not a model of taste).
Candidate = Literal["ease", "als", "bpr", "itemknn", "sar", "sar_lift", "popular"]
DEFAULT_CANDIDATES: tuple[Candidate, ...] = ("ease", "als", "sar", "itemknn", "popular")


class CacheSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["memory", "redis"] = "memory"
    size: int = Field(default=10_000, ge=0)
    url: str = "redis://127.0.0.1:6379/0"
    ttl_seconds: int = Field(default=3600, ge=1)


class AutoSettings(BaseModel):
    """How `model: auto` picks (docs/recommendations.md, "Automatic model selection")."""

    model_config = ConfigDict(extra="forbid")

    candidates: list[Candidate] = Field(
        default_factory=lambda: list(DEFAULT_CANDIDATES), min_length=1
    )
    budget_seconds: float = Field(
        default=300, gt=0, description="no new candidate starts after this long"
    )
    margin: float = Field(
        default=0.02, ge=0, lt=1, description="relative nDCG@10 a challenger must win by"
    )
    holdout: float = Field(
        default=0.2,
        gt=0,
        lt=1,
        description="the share of each person's products, their latest, held out",
    )
    max_people: int = Field(default=2000, ge=1, description="people scored on the holdout")
    min_people: int = Field(
        default=20, ge=1, description="fewer to score than this: too little data to choose"
    )
    seed: int = 42


class RecommendationSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: ModelName | Literal["auto"] = "auto"
    auto: AutoSettings = Field(default_factory=AutoSettings)
    evaluate: list[str] = Field(
        default_factory=lambda: ["auto", "ease", "als", "bpr", "itemknn", "sar"]
    )
    weights: InteractionWeights = Field(default_factory=InteractionWeights)
    factors: FactorSettings = Field(default_factory=FactorSettings)
    neighbours: NeighbourSettings = Field(default_factory=NeighbourSettings)
    ease: EaseSettings = Field(default_factory=EaseSettings)
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
    new_item_people: int = Field(
        default=2,
        ge=1,
        description="people after whom a product is ranked on behaviour alone; before, its "
        "catalogue fields (category, name, price band) count too",
    )
    max_per_category: int | None = Field(default=None, ge=1)
    min_interactions: int = Field(
        default=3, ge=0, description="below this, a person gets the cold-start answer"
    )
    trending_days: int = Field(default=7, ge=1)
    retrain_minutes: float | None = Field(default=60, gt=0)
    cache: CacheSettings = Field(default_factory=CacheSettings)
