"""Offline evaluation: split, train every model, rank, score, compare with popularity.

Protocol (the common one for implicit feedback): items a person already interacted with in
training are never recommended to them; scores are the top k of what is left.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
from scipy import sparse

from pertinent.errors import InputError
from pertinent.recommend.interactions import (
    Interaction,
    InteractionMatrix,
    InteractionWeights,
    build_matrix,
)
from pertinent.recommend.metrics import Scores, score_all
from pertinent.recommend.models import (
    FactorSettings,
    NeighbourSettings,
    Recommender,
    make_model,
    top_k,
)


@dataclass(frozen=True)
class Split:
    train: InteractionMatrix
    relevant: dict[int, set[int]]
    items_outside_train: int
    description: str


@dataclass(frozen=True)
class ReportRow:
    model: str
    k: int
    scores: Scores
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {"model": self.model, "k": self.k, "seconds": self.seconds, **asdict(self.scores)}


def random_split(matrix: InteractionMatrix, *, test_share: float = 0.25, seed: int = 42) -> Split:
    """Per user, a random `test_share` of their items is held out (users with ≥ 2 items)."""
    rng = np.random.default_rng(seed)
    coo = matrix.matrix.tocoo()
    by_user: dict[int, list[int]] = defaultdict(list)
    for index, user in enumerate(coo.row):
        by_user[int(user)].append(index)
    keep = np.ones(coo.nnz, dtype=bool)
    relevant: dict[int, set[int]] = {}
    for user, cells in by_user.items():
        if len(cells) < 2:
            continue
        n_test = max(1, round(len(cells) * test_share))
        held = rng.choice(cells, size=n_test, replace=False)
        keep[held] = False
        relevant[user] = {int(coo.col[i]) for i in held}
    train = sparse.csr_matrix(
        (coo.data[keep], (coo.row[keep], coo.col[keep])),
        shape=matrix.matrix.shape,
        dtype=np.float32,
    )
    held_out = InteractionMatrix(
        train, matrix.users, matrix.items, matrix.user_index, matrix.item_index
    )
    return Split(held_out, relevant, 0, f"random {1 - test_share:.0%}/{test_share:.0%} per user")


def time_split(
    interactions: Iterable[Interaction], cutoff: datetime, weights: InteractionWeights
) -> Split:
    """Train on what happened before `cutoff`; each known user's relevant items are those they
    interacted with after it and not before (new items only)."""
    before: list[Interaction] = []
    after: list[Interaction] = []
    for it in interactions:
        (before if it.timestamp < cutoff else after).append(it)
    train = build_matrix(before, weights, cutoff)
    seen: dict[str, set[str]] = defaultdict(set)
    for it in before:
        seen[it.user_id].add(it.item_id)
    relevant: dict[int, set[int]] = defaultdict(set)
    unknown_items: set[str] = set()
    for it in after:
        user = train.user_index.get(it.user_id)
        if user is None or it.item_id in seen[it.user_id]:
            continue
        item = train.item_index.get(it.item_id)
        if item is None:
            unknown_items.add(it.item_id)
            # Unreachable for any model, but still relevant: left in, so recall stays honest.
            relevant[user].add(-1 - len(unknown_items))
        else:
            relevant[user].add(item)
    return Split(train, dict(relevant), len(unknown_items), f"time split at {cutoff:%Y-%m-%d}")


def recommend_for(
    model: Recommender, train: sparse.csr_matrix, users: list[int], k: int, batch: int = 512
) -> dict[int, list[int]]:
    """Top k per user, excluding what they interacted with in training."""
    out: dict[int, list[int]] = {}
    for start in range(0, len(users), batch):
        chunk = np.asarray(users[start : start + batch])
        scores = model.scores(chunk, train).astype(np.float32, copy=True)
        seen = train[chunk]
        rows = np.repeat(np.arange(len(chunk)), np.diff(seen.indptr))
        scores[rows, seen.indices] = -np.inf
        best = top_k(scores, k)
        for row, user in enumerate(chunk):
            out[int(user)] = [int(i) for i in best[row] if np.isfinite(scores[row, i])]
    return out


def evaluate(
    split: Split,
    model_names: list[str],
    k: int = 10,
    *,
    factors: FactorSettings | None = None,
    neighbours: NeighbourSettings | None = None,
) -> list[ReportRow]:
    """Every named model (popularity always included) on the split, best nDCG first; models
    take the given (workspace) settings, or their defaults."""
    names = list(dict.fromkeys([*model_names, "popular"]))
    users = sorted(u for u, rel in split.relevant.items() if rel)
    if not users:
        raise InputError(
            f"nobody to evaluate on ({split.description}): no person has interactions on "
            "both sides of the split",
            hint="use more data, or another --cutoff for a time split",
        )
    rows = []
    for name in names:
        model = make_model(name, factors, neighbours)
        started = time.perf_counter()
        model.fit(split.train.matrix)
        recs = recommend_for(model, split.train.matrix, users, k)
        scores = score_all(recs, split.relevant, k, split.train.shape[1])
        rows.append(ReportRow(name, k, scores, time.perf_counter() - started))
    return sorted(rows, key=lambda r: -r.scores.ndcg)
