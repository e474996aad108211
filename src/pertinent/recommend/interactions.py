"""Who interacted with what, and how strongly: the input every model learns from.

Weights per kind come from `pertinent.yaml` (viewed 1, added to cart 3, ordered 5 by default),
optionally decayed by age. Each (person, item) is one cell: for each kind the strongest
(newest) interaction counts once, and the kinds add up. Repeated views of the same product do
not outweigh a purchase, and a bot reloading a page cannot inflate a cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse

Kind = Literal["viewed", "added", "ordered"]
# Segment e-commerce spec v2 events and the interaction kind each one is.
EVENT_KINDS: dict[str, Kind] = {
    "Product Viewed": "viewed",
    "Product Clicked": "viewed",
    "Product Added": "added",
    "Order Completed": "ordered",
}


@dataclass(frozen=True, slots=True)
class Interaction:
    user_id: str
    item_id: str
    kind: Kind
    timestamp: datetime


class InteractionWeights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    viewed: float = Field(default=1.0, ge=0)
    added: float = Field(default=3.0, ge=0)
    ordered: float = Field(default=5.0, ge=0)
    half_life_days: float | None = Field(default=None, gt=0)

    def weight(self, interaction: Interaction, now: datetime) -> float:
        base = float(getattr(self, interaction.kind))
        if self.half_life_days is None:
            return base
        age_days = max((now - interaction.timestamp).total_seconds(), 0.0) / 86_400
        return base * float(0.5 ** (age_days / self.half_life_days))


@dataclass(frozen=True)
class InteractionMatrix:
    """Users × items, float32 CSR, with the ids of each row and column."""

    matrix: sparse.csr_matrix
    users: list[str]
    items: list[str]
    user_index: dict[str, int]
    item_index: dict[str, int]

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.users), len(self.items))


def build_matrix(
    interactions: Iterable[Interaction],
    weights: InteractionWeights,
    now: datetime,
    *,
    items: Iterable[str] = (),
) -> InteractionMatrix:
    """The matrix of `interactions`; `items` adds catalogue items nobody touched yet."""
    strongest: dict[tuple[str, str, str], float] = {}
    for it in interactions:
        key = (it.user_id, it.item_id, it.kind)
        value = weights.weight(it, now)
        if value > strongest.get(key, 0.0):
            strongest[key] = value
    user_index: dict[str, int] = {}
    item_index: dict[str, int] = {}
    for item in items:
        item_index.setdefault(item, len(item_index))
    rows, cols, vals = [], [], []
    for (user, item, _kind), value in strongest.items():
        rows.append(user_index.setdefault(user, len(user_index)))
        cols.append(item_index.setdefault(item, len(item_index)))
        vals.append(value)
    matrix = sparse.csr_matrix(
        (np.asarray(vals, dtype=np.float32), (np.asarray(rows), np.asarray(cols))),
        shape=(len(user_index), len(item_index)),
        dtype=np.float32,
    )
    matrix.sum_duplicates()
    return InteractionMatrix(matrix, list(user_index), list(item_index), user_index, item_index)
