"""A trained model version as serving reads it: immutable, swapped whole.

Everything a request needs is precomputed here once per training (categories and stock per
item column, popularity, descriptions for new products, purchase times), so a request is one
row of scores and a few NumPy masks.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from pertinent.recommend.catalogue import Product
from pertinent.recommend.content import ItemContent, describe
from pertinent.recommend.interactions import InteractionMatrix
from pertinent.recommend.models import Recommender
from pertinent.recommend.select import Selection


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    product: Product | None

    def as_dict(self) -> dict[str, Any]:
        fields = self.product.model_dump(exclude={"created_at"}) if self.product else {}
        return {**fields, "item_id": self.item_id, "score": round(self.score, 6)}


@dataclass(frozen=True)
class Snapshot:
    version: int
    # Unique across processes and restarts: cache keys carry it, so a shared (Redis) cache
    # never hands one node's answer to another node's model.
    token: str
    model: Recommender
    data: InteractionMatrix
    products: dict[str, Product]
    categories: np.ndarray  # the category of each item column (None when unknown)
    in_stock: np.ndarray  # False for items the catalogue says are out of stock
    popularity: np.ndarray  # distinct people per item
    trending: np.ndarray
    purchases: sparse.csr_matrix  # users × items: when each was last ordered (epoch seconds)
    content: ItemContent
    selection: Selection | None  # how `auto` chose the model (None for a fixed model)


def make_snapshot(
    version: int,
    model: Recommender,
    data: InteractionMatrix,
    products: dict[str, Product],
    trending: np.ndarray,
    purchases: sparse.csr_matrix,
    *,
    new_item_people: int,
    selection: Selection | None = None,
) -> Snapshot:
    known = [products.get(item) for item in data.items]
    categories = np.asarray([p.category if p else None for p in known], dtype=object)
    in_stock = np.asarray([p.in_stock if p else True for p in known], dtype=bool)
    popularity = np.asarray((data.matrix > 0).sum(axis=0), dtype=np.float32).ravel()
    return Snapshot(
        version,
        uuid.uuid4().hex,
        model,
        data,
        products,
        categories,
        in_stock,
        popularity,
        trending,
        purchases,
        describe(data.items, products, popularity, new_item_people),
        selection,
    )


def row_of(matrix: sparse.csr_matrix, row: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of one CSR row, without SciPy's indexing machinery (which
    costs more than a whole recommendation)."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    return matrix.indices[start:end], matrix.data[start:end]
