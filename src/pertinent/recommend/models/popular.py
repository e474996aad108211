"""Popularity: the trivial answer every model must beat, and the cold-start fallback.

Global popularity counts distinct people per item; `trending` is the same count fitted on the
recent window only (the service gives it that matrix). Per-category popularity is the same
scores filtered by category, done where categories are known (rules, cold start).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse


class Popularity:
    def __init__(self, name: str = "popular") -> None:
        self.name = name
        self.counts = np.zeros(0, dtype=np.float32)

    def fit(self, matrix: sparse.csr_matrix) -> None:
        self.counts = np.asarray((matrix > 0).sum(axis=0), dtype=np.float32).ravel()

    def scores(self, users: np.ndarray, matrix: sparse.csr_matrix) -> np.ndarray:
        return np.tile(self.counts, (len(users), 1))

    def similar(self, item: int, n: int) -> list[tuple[int, float]]:
        order = np.argsort(-self.counts, kind="stable")
        return [(int(i), float(self.counts[i])) for i in order if i != item][:n]

    def without_user(self, row: int) -> Popularity:
        return self  # counts of people, nothing learned about one person
