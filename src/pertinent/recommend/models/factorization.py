"""Matrix factorization through `implicit`: ALS (Hu, Koren, Volinsky 2008) and BPR
(Rendle et al. 2009). The library is called exactly as a user of it would: confidence is the
interaction weight (optionally BM25-weighted first, as implicit's authors suggest) scaled by
implicit's own `alpha`, so the same settings give the same factors as bare implicit (a test
holds us to it)."""

from __future__ import annotations

from typing import Literal

import numpy as np
from implicit.cpu.als import AlternatingLeastSquares
from implicit.cpu.bpr import BayesianPersonalizedRanking
from implicit.nearest_neighbours import bm25_weight
from pydantic import BaseModel, ConfigDict, Field
from scipy import sparse
from threadpoolctl import threadpool_limits

from pertinent.recommend.models.base import similar_from_vectors


class FactorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    factors: int = Field(default=64, ge=2, le=1024)
    regularization: float = Field(default=0.5, ge=0)
    iterations: int = Field(default=20, ge=1, le=1000)
    alpha: float = Field(default=1.0, gt=0)
    learning_rate: float = Field(default=0.05, gt=0)
    bpr_regularization: float = Field(default=0.01, ge=0)
    bm25: bool = False
    seed: int = 42
    threads: int = Field(default=1, ge=0)


def confidence(matrix: sparse.csr_matrix, settings: FactorSettings) -> sparse.csr_matrix:
    """What `implicit` is given: the weights, BM25-weighted when asked (alpha is applied by
    implicit itself)."""
    weighted = bm25_weight(matrix, K1=100, B=0.8).tocsr() if settings.bm25 else matrix
    return weighted.astype(np.float32).tocsr()


class Factorized:
    """ALS or BPR: the two differ only in how `implicit` learns the factors."""

    def __init__(self, kind: Literal["als", "bpr"], settings: FactorSettings | None = None):
        self.kind = kind
        self.name: str = kind
        self.settings = settings or FactorSettings()
        self.user_factors = np.zeros((0, 0), dtype=np.float32)
        self.item_factors = np.zeros((0, 0), dtype=np.float32)

    def _model(self) -> AlternatingLeastSquares | BayesianPersonalizedRanking:
        s = self.settings
        if self.kind == "als":
            return AlternatingLeastSquares(
                factors=s.factors,
                regularization=s.regularization,
                alpha=s.alpha,
                iterations=s.iterations,
                random_state=s.seed,
                num_threads=s.threads,
            )
        return BayesianPersonalizedRanking(
            factors=s.factors,
            learning_rate=s.learning_rate,
            regularization=s.bpr_regularization,
            iterations=max(s.iterations, 100),
            random_state=s.seed,
            num_threads=s.threads,
        )

    def fit(self, matrix: sparse.csr_matrix) -> None:
        # implicit runs its own threads; a BLAS pool inside each of them only contends (its
        # authors' advice; its constructor warns otherwise).
        with threadpool_limits(1, "blas"):
            model = self._model()
            model.fit(confidence(matrix, self.settings), show_progress=False)
        self.user_factors = np.asarray(model.user_factors)
        self.item_factors = np.asarray(model.item_factors)

    def scores(self, users: np.ndarray, matrix: sparse.csr_matrix) -> np.ndarray:
        return np.asarray(self.user_factors[users] @ self.item_factors.T)

    def similar(self, item: int, n: int) -> list[tuple[int, float]]:
        return similar_from_vectors(self.item_factors, item, n)

    def without_user(self, row: int) -> Factorized:
        forgotten = Factorized(self.kind, self.settings)
        forgotten.item_factors = self.item_factors
        forgotten.user_factors = self.user_factors.copy()
        forgotten.user_factors[row] = 0
        return forgotten
