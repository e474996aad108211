"""Item-to-item models: cosine item-kNN, and SAR-style co-occurrence (Microsoft Recommenders'
Simple Algorithm for Recommendation) with Jaccard or lift similarity. Sparse throughout: the
similarity matrix keeps each item's `neighbours` strongest entries."""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse


class NeighbourSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    neighbours: int = Field(default=100, ge=1)
    similarity: Literal["cosine", "jaccard", "lift"] = "cosine"


def _prune(similarity: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """Keep each row's `keep` largest entries; drop the diagonal."""
    similarity = similarity.tocsr()
    similarity.setdiag(0)
    similarity.eliminate_zeros()
    rows, cols, vals = [], [], []
    for row in range(similarity.shape[0]):
        start, end = similarity.indptr[row], similarity.indptr[row + 1]
        data = similarity.data[start:end]
        idx = similarity.indices[start:end]
        if len(data) > keep:
            best = np.argpartition(-data, keep - 1)[:keep]
            data, idx = data[best], idx[best]
        rows.extend([row] * len(data))
        cols.extend(idx.tolist())
        vals.extend(data.tolist())
    return sparse.csr_matrix(
        (np.asarray(vals, dtype=np.float32), (rows, cols)), shape=similarity.shape
    )


class ItemToItem:
    """score(u, i) = Σ_j affinity(u, j) · weight(j, i), over a sparse item × item matrix that
    each subclass learns its own way."""

    def __init__(self, name: str):
        self.name = name
        self.similarity = sparse.csr_matrix((0, 0), dtype=np.float32)

    def scores(self, users: np.ndarray, matrix: sparse.csr_matrix) -> np.ndarray:
        if len(users) == 1:
            return self._one_user(int(users[0]), matrix)[None, :]
        return np.asarray((matrix[users] @ self.similarity).toarray())

    def _one_user(self, user: int, matrix: sparse.csr_matrix) -> np.ndarray:
        """The serving path: one person's row times the similarity matrix, gathered straight
        from the CSR arrays (SciPy's slicing and product setup cost several times the
        arithmetic for a single row)."""
        start, end = matrix.indptr[user], matrix.indptr[user + 1]
        items, affinity = matrix.indices[start:end], matrix.data[start:end]
        sim = self.similarity
        first, last = sim.indptr[items], sim.indptr[items + 1]
        lengths = last - first
        cells = np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        weights = np.repeat(affinity, lengths) * sim.data[cells]
        return np.bincount(sim.indices[cells], weights=weights, minlength=sim.shape[1])

    def similar(self, item: int, n: int) -> list[tuple[int, float]]:
        row = self.similarity.getrow(item).toarray().ravel()
        best = np.argsort(-row, kind="stable")[:n]
        return [(int(i), float(row[i])) for i in best if row[i] > 0]

    def without_user(self, row: int) -> Self:
        return self  # item-to-item weights; a person's scores come from their matrix row


class ItemNeighbours(ItemToItem):
    """Similarity from co-occurrence: cosine, Jaccard or lift."""

    def __init__(self, name: str, settings: NeighbourSettings | None = None):
        super().__init__(name)
        self.settings = settings or NeighbourSettings()

    def fit(self, matrix: sparse.csr_matrix) -> None:
        kind = self.settings.similarity
        if kind == "cosine":
            norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel()) + 1e-9
            normalized = matrix @ sparse.diags(1.0 / norms)
            sim = (normalized.T @ normalized).tocsr()
        else:
            seen = (matrix > 0).astype(np.float32)
            cooc = (seen.T @ seen).tocoo()
            counts = np.asarray(seen.sum(axis=0)).ravel()
            a, b = counts[cooc.row], counts[cooc.col]
            values = cooc.data / (a + b - cooc.data) if kind == "jaccard" else cooc.data / (a * b)
            sim = sparse.csr_matrix(
                (values.astype(np.float32), (cooc.row, cooc.col)), shape=cooc.shape
            )
        self.similarity = _prune(sim, self.settings.neighbours)
