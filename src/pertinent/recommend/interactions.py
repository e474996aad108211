"""Who interacted with what, and how strongly: the input every model learns from.

Weights per kind come from `pertinent.yaml` (viewed 1, added to cart 3, ordered 5 by default),
optionally decayed by age. Each (person, item) is one cell: for each kind the strongest
(newest) interaction counts once, and the kinds add up. Repeated views of the same product do
not outweigh a purchase, and a bot reloading a page cannot inflate a cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal, Self

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


_KIND_CODES: dict[Kind, int] = {"viewed": 0, "added": 1, "ordered": 2}
ORDERED = _KIND_CODES["ordered"]


@dataclass(frozen=True)
class InteractionColumns:
    """Interactions as parallel arrays over integer ids: one pass over the Python objects,
    then every matrix, count and mask is a NumPy operation (training on a million
    interactions would otherwise spend more time in dicts than in the model)."""

    user: np.ndarray
    item: np.ndarray
    kind: np.ndarray
    at: np.ndarray
    users: list[str]
    items: list[str]
    user_index: dict[str, int]
    item_index: dict[str, int]

    @classmethod
    def of(cls, interactions: Sequence[Interaction], items: Iterable[str] = ()) -> Self:
        """`items` adds catalogue items nobody touched yet (as columns after the touched)."""
        user_index: dict[str, int] = {}
        item_index: dict[str, int] = {}
        n = len(interactions)
        user = np.fromiter(
            (user_index.setdefault(it.user_id, len(user_index)) for it in interactions),
            np.int64,
            n,
        )
        item = np.fromiter(
            (item_index.setdefault(it.item_id, len(item_index)) for it in interactions),
            np.int64,
            n,
        )
        kind = np.fromiter((_KIND_CODES[it.kind] for it in interactions), np.int8, n)
        at = np.fromiter((it.timestamp.timestamp() for it in interactions), np.float64, n)
        for extra in items:
            item_index.setdefault(extra, len(item_index))
        return cls(user, item, kind, at, list(user_index), list(item_index), user_index, item_index)

    def subset(self, mask: np.ndarray, *, compact: bool = False) -> InteractionColumns:
        """The interactions in `mask`. Compact: only the people and items they name, renumbered
        in order of first appearance; otherwise every row and column stays where it was."""
        user, item, kind, at = self.user[mask], self.item[mask], self.kind[mask], self.at[mask]
        if not compact:
            return replace(self, user=user, item=item, kind=kind, at=at)
        users, user = _renumber(user)
        items, item = _renumber(item)
        user_names = [self.users[u] for u in users.tolist()]
        item_names = [self.items[i] for i in items.tolist()]
        return InteractionColumns(
            user,
            item,
            kind,
            at,
            user_names,
            item_names,
            {name: n for n, name in enumerate(user_names)},
            {name: n for n, name in enumerate(item_names)},
        )

    def since(self, moment: datetime) -> np.ndarray:
        """A mask of the interactions at or after `moment`."""
        return np.asarray(self.at >= moment.timestamp())

    def distinct_users_per_item(self, mask: np.ndarray | None = None) -> np.ndarray:
        """How many different people touched each item (among `mask`)."""
        user, item = (self.user, self.item) if mask is None else (self.user[mask], self.item[mask])
        cells = np.unique(user * len(self.items) + item)
        return np.bincount(cells % max(len(self.items), 1), minlength=len(self.items)).astype(
            np.float32
        )

    def latest(self, mask: np.ndarray) -> sparse.csr_matrix:
        """Per (person, item), the time (epoch seconds) of the latest interaction in `mask`."""
        cell, at = _max_per_key(self.user[mask] * len(self.items) + self.item[mask], self.at[mask])
        return self._cells(cell, at, np.float64)

    def matrix(
        self, weights: InteractionWeights, now: datetime, mask: np.ndarray | None = None
    ) -> InteractionMatrix:
        """Per (person, item): the strongest interaction of each kind, kinds added up; only the
        interactions in `mask` when one is given (the shape stays the same)."""
        user, item, kind, at = (
            (self.user, self.item, self.kind, self.at)
            if mask is None
            else (self.user[mask], self.item[mask], self.kind[mask], self.at[mask])
        )
        base = np.asarray([weights.viewed, weights.added, weights.ordered], dtype=np.float64)
        value = base[kind]
        if weights.half_life_days is not None:
            age_days = np.maximum(now.timestamp() - at, 0.0) / 86_400
            value = value * 0.5 ** (age_days / weights.half_life_days)
        key, value = _max_per_key((user * len(self.items) + item) * 3 + kind, value)
        keep = value > 0
        matrix = self._cells(key[keep] // 3, value[keep], np.float32)
        return InteractionMatrix(matrix, self.users, self.items, self.user_index, self.item_index)

    def _cells(self, cell: np.ndarray, value: np.ndarray, dtype: type) -> sparse.csr_matrix:
        width = max(len(self.items), 1)
        matrix = sparse.csr_matrix(
            (value.astype(dtype), (cell // width, cell % width)),
            shape=(len(self.users), len(self.items)),
            dtype=dtype,
        )
        matrix.sum_duplicates()
        return matrix


def _renumber(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ids in order of first appearance, and each id's position among them."""
    distinct, first, position = np.unique(ids, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[order] = np.arange(len(distinct))
    return distinct[order], rank[position].astype(np.int64)


def _max_per_key(key: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct keys, each with its largest value."""
    order = np.lexsort((value, key))
    key, value = key[order], value[order]
    last = np.ones(len(key), dtype=bool)
    last[:-1] = key[1:] != key[:-1]
    return key[last], value[last]


def build_matrix(
    interactions: Sequence[Interaction],
    weights: InteractionWeights,
    now: datetime,
    *,
    items: Iterable[str] = (),
) -> InteractionMatrix:
    """The matrix of `interactions`; `items` adds catalogue items nobody touched yet."""
    return InteractionColumns.of(interactions, items).matrix(weights, now)
