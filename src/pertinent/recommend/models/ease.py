"""EASE, "Embarrassingly Shallow Autoencoders for Sparse Data" (Steck, WWW 2019): an item ×
item weight matrix in closed form, B = I − P · diag(1 / diag(P)) with P = (XᵀX + λI)⁻¹ and a
zero diagonal. Strong on catalogues dense enough for co-purchases to say something; on the
real shop it ranks best of every model (docs/recommendations.md).

Two choices of ours, both measured on the real shop:
- λ is given relative to the data, as a multiple of the mean diagonal of XᵀX (an item's
  summed squared interaction weight), so the same setting fits a shop whose weights are
  1/3/5 and one whose interactions are all 1.
- Each item keeps its `neighbours` weights largest in magnitude (negative weights matter in
  EASE): the model is sparse, light to store and serve, and the cut drops mostly noise (it
  ranked slightly better than the dense matrix).

The inverse is dense in the number of items, so at most `max_items` items (the most popular)
take part; the others are left to cold start and popularity.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse
from threadpoolctl import threadpool_limits

from pertinent.recommend.models.neighbours import ItemToItem


class EaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    regularization: float = Field(
        default=2.0, gt=0, description="λ as a multiple of the mean diagonal of XᵀX"
    )
    neighbours: int = Field(default=200, ge=1, description="weights kept per item")
    max_items: int = Field(
        default=6000, ge=1, le=20_000, description="the most popular items that take part"
    )


class Ease(ItemToItem):
    def __init__(self, settings: EaseSettings | None = None):
        super().__init__("ease")
        self.settings = settings or EaseSettings()

    def fit(self, matrix: sparse.csr_matrix) -> None:
        n_items = matrix.shape[1]
        people = np.asarray((matrix > 0).sum(axis=0)).ravel()
        taking_part = np.sort(
            np.argsort(-people, kind="stable")[: min(self.settings.max_items, n_items)]
        )
        taking_part = taking_part[people[taking_part] > 0]
        if len(taking_part) == 0:
            self.similarity = sparse.csr_matrix((n_items, n_items), dtype=np.float32)
            return
        x = matrix[:, taking_part].astype(np.float32)
        gram = np.asarray((x.T @ x).toarray(), dtype=np.float32)
        diagonal = np.diag_indices_from(gram)
        gram[diagonal] += self.settings.regularization * float(gram[diagonal].mean())
        # One BLAS thread, as every model trains (see docs/recommendations.md).
        with threadpool_limits(1, "blas"):
            inverse = np.linalg.inv(gram)
        weights = inverse / -np.diag(inverse)
        weights[diagonal] = 0
        keep = min(self.settings.neighbours, len(taking_part))
        best = np.argpartition(-np.abs(weights), keep - 1, axis=1)[:, :keep]
        rows = np.repeat(taking_part, keep)
        similarity = sparse.csr_matrix(
            (
                np.take_along_axis(weights, best, axis=1).ravel(),
                (rows, taking_part[best.ravel()]),
            ),
            shape=(n_items, n_items),
            dtype=np.float32,
        )
        similarity.eliminate_zeros()
        self.similarity = similarity
