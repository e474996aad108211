"""The one small interface every model implements (the shape of implicit's RecommenderBase,
cut to what Pertinent uses): learn from a user × item matrix, score items for users, find
similar items. Filtering, rules and top-k live outside the models, once."""

from __future__ import annotations

from typing import Protocol

import numpy as np
from scipy import sparse


class Recommender(Protocol):
    name: str

    def fit(self, matrix: sparse.csr_matrix) -> None:
        """Learn from users × items interaction strengths."""
        ...

    def scores(self, users: np.ndarray, matrix: sparse.csr_matrix) -> np.ndarray:
        """Dense scores: a row per user index in `users` (rows of `matrix`), a column per item."""
        ...

    def similar(self, item: int, n: int) -> list[tuple[int, float]]:
        """The `n` items most like `item` (itself excluded)."""
        ...

    def without_user(self, row: int) -> Recommender:
        """This model with nothing learned about the person in `row` (erasure); may be self
        when the model keeps nothing per person."""
        ...


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores per row, best first (ties by index, so it is stable)."""
    k = min(k, scores.shape[1])
    if k <= 0:
        return np.zeros((scores.shape[0], 0), dtype=np.int64)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    rows = np.arange(scores.shape[0])[:, None]
    order = np.lexsort((part, -scores[rows, part]), axis=1)
    return np.asarray(part[rows, order])


def similar_from_vectors(vectors: np.ndarray, item: int, n: int) -> list[tuple[int, float]]:
    """Cosine neighbours of one item among row vectors."""
    norms = np.linalg.norm(vectors, axis=1) + 1e-9
    sims = (vectors @ vectors[item]) / (norms * norms[item])
    sims[item] = -np.inf
    best = top_k(sims[None, :], n)[0]
    return [(int(i), float(sims[i])) for i in best if np.isfinite(sims[i])]


def weighted_rows(matrix: sparse.csr_matrix, rows: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ weights[k] · matrix[rows[k]], dense, gathered straight from the CSR arrays (SciPy's
    slicing and product setup cost several times the arithmetic for a handful of rows, which
    is what serving one person needs)."""
    first, last = matrix.indptr[rows], matrix.indptr[rows + 1]
    lengths = last - first
    cells = np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    values = np.repeat(weights, lengths) * matrix.data[cells]
    return np.bincount(matrix.indices[cells], weights=values, minlength=matrix.shape[1])
