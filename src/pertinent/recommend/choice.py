"""A model with every setting that shapes what it learns: what `auto` tries, compares, picks
and serves, and what a fixed `model:` resolves to."""

from __future__ import annotations

from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field

from pertinent.errors import ConfigError
from pertinent.recommend.interactions import InteractionWeights
from pertinent.recommend.models import (
    MODEL_NAMES,
    EaseSettings,
    FactorSettings,
    ModelName,
    NeighbourSettings,
    Recommender,
    make_model,
)
from pertinent.recommend.settings import RecommendationSettings

Change = float | int | bool | None


class ModelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelName
    weights: InteractionWeights
    factors: FactorSettings
    neighbours: NeighbourSettings
    ease: EaseSettings
    # What this choice changes from the workspace's settings ("section.field": value).
    changes: dict[str, Change] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        """`ease`, or `ease(regularization=8.0)` for a variant."""
        if not self.changes:
            return self.model
        inside = ", ".join(f"{key.split('.')[-1]}={value}" for key, value in self.changes.items())
        return f"{self.model}({inside})"

    def build(self) -> Recommender:
        return make_model(self.model, self.factors, self.neighbours, self.ease)

    def with_changes(self, changes: dict[str, Change]) -> ModelChoice:
        """This choice with some settings changed ("factors.regularization": 2.0 ...)."""
        sections: dict[str, dict[str, Any]] = {}
        for key, value in changes.items():
            section, field = key.split(".")
            sections.setdefault(section, {})[field] = value
        updated = {
            name: getattr(self, name).model_copy(update=fields) for name, fields in sections.items()
        }
        return self.model_copy(update={**updated, "changes": {**self.changes, **changes}})


def configured(settings: RecommendationSettings, model: str) -> ModelChoice:
    """`model` with the workspace's settings; an unknown name is a config error."""
    if model not in MODEL_NAMES:
        raise ConfigError(
            f"unknown model {model!r}",
            where="recommendations.model",
            hint=f"choose one of auto, {', '.join(MODEL_NAMES)}",
        )
    return ModelChoice(
        model=cast(ModelName, model),  # checked just above
        weights=settings.weights,
        factors=settings.factors,
        neighbours=settings.neighbours,
        ease=settings.ease,
    )
