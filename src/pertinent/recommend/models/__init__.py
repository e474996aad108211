"""Models by name, as `pertinent.yaml` selects them."""

from __future__ import annotations

from typing import Literal, get_args

from pertinent.errors import ConfigError
from pertinent.recommend.models.base import Recommender, top_k
from pertinent.recommend.models.ease import Ease, EaseSettings
from pertinent.recommend.models.factorization import Factorized, FactorSettings
from pertinent.recommend.models.neighbours import ItemNeighbours, NeighbourSettings
from pertinent.recommend.models.popular import Popularity

ModelName = Literal["ease", "als", "bpr", "itemknn", "sar", "sar_lift", "popular", "trending"]
MODEL_NAMES: tuple[str, ...] = get_args(ModelName)


def make_model(
    name: str,
    factors: FactorSettings | None = None,
    neighbours: NeighbourSettings | None = None,
    ease: EaseSettings | None = None,
) -> Recommender:
    """A fresh, unfitted model; unknown names are a config error listing the known ones."""
    match name:
        case "ease":
            return Ease(ease)
        case "als" | "bpr":
            return Factorized(name, factors)
        case "itemknn":
            return ItemNeighbours(name, neighbours or NeighbourSettings())
        case "sar" | "sar_lift":
            # SAR is co-occurrence with Jaccard or lift whatever `similarity` says.
            similarity = "jaccard" if name == "sar" else "lift"
            settings = (neighbours or NeighbourSettings()).model_copy(
                update={"similarity": similarity}
            )
            return ItemNeighbours(name, settings)
        case "popular" | "trending":
            return Popularity(name)
    raise ConfigError(
        f"unknown model {name!r}",
        where="recommendations.model",
        hint=f"choose one of {', '.join(MODEL_NAMES)}",
    )


__all__ = [
    "MODEL_NAMES",
    "EaseSettings",
    "FactorSettings",
    "ModelName",
    "NeighbourSettings",
    "Recommender",
    "make_model",
    "top_k",
]
