"""Offline evaluation: split, train every model, rank, score, compare with popularity.

Protocol (the common one for implicit feedback): items a person already interacted with in
training are never recommended to them; scores are the top k of what is left.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from scipy import sparse

from pertinent.clock import monotonic
from pertinent.errors import InputError
from pertinent.recommend.interactions import (
    Interaction,
    InteractionColumns,
    InteractionMatrix,
    InteractionWeights,
)
from pertinent.recommend.metrics import Scores, score_all
from pertinent.recommend.models import Recommender, top_k

# (what, done, of how many, the step now running): how long work reports how far it is.
Progress = Callable[[str, int, int, str], None]


@dataclass(frozen=True)
class Split:
    train: InteractionMatrix
    relevant: dict[int, set[int]]
    items_outside_train: int
    description: str
    # The training interactions themselves, and the instant they are weighed at, so a model
    # that weighs them its own way (a half-life ...) and `auto` can train on them too.
    columns: InteractionColumns
    now: datetime

    def people(self) -> list[int]:
        """The people with something to find, in row order."""
        return sorted(u for u, rel in self.relevant.items() if rel)

    def matrix(self, weights: InteractionWeights) -> sparse.csr_matrix:
        """The training matrix as `weights` weigh it."""
        return self.columns.matrix(weights, self.now).matrix


def random_split(
    columns: InteractionColumns,
    weights: InteractionWeights,
    now: datetime,
    *,
    test_share: float = 0.25,
    seed: int = 42,
) -> Split:
    """Per person, a random `test_share` of their items is held out (people with ≥ 2 items)."""
    whole = columns.matrix(weights, now).matrix.tocoo()
    rng = np.random.default_rng(seed)
    starts = np.searchsorted(whole.row, np.arange(whole.shape[0] + 1))
    held_cells: list[int] = []
    relevant: dict[int, set[int]] = {}
    for user in range(whole.shape[0]):
        cells = np.arange(starts[user], starts[user + 1])
        if len(cells) < 2:
            continue
        held = rng.choice(cells, size=max(1, round(len(cells) * test_share)), replace=False)
        held_cells.extend(held.tolist())
        relevant[user] = {int(whole.col[i]) for i in held}
    width = max(len(columns.items), 1)
    held_keys = whole.row[held_cells].astype(np.int64) * width + whole.col[held_cells]
    kept = columns.subset(~np.isin(columns.user * width + columns.item, held_keys))
    return Split(
        kept.matrix(weights, now),
        relevant,
        0,
        f"random {1 - test_share:.0%}/{test_share:.0%} per user",
        kept,
        now,
    )


def split_at(columns: InteractionColumns, cutoff: datetime, weights: InteractionWeights) -> Split:
    """Train on what happened before `cutoff`; each person known before it is asked for the
    items they interacted with after it and not before (new items only)."""
    before = columns.at < cutoff.timestamp()
    kept = columns.subset(before, compact=True)
    width = max(len(columns.items), 1)
    keys = columns.user * width + columns.item
    later = np.setdiff1d(np.unique(keys[~before]), np.unique(keys[before]))
    new_user = np.asarray([kept.user_index.get(u, -1) for u in columns.users], dtype=np.int64)
    new_item = np.asarray([kept.item_index.get(i, -1) for i in columns.items], dtype=np.int64)
    users, items = new_user[later // width], new_item[later % width]
    relevant: dict[int, set[int]] = {}
    unknown: dict[int, int] = {}
    for user, item, old_item in zip(
        users.tolist(), items.tolist(), (later % width).tolist(), strict=True
    ):
        if user < 0:
            continue
        if item < 0:
            # Unreachable for any model, but still relevant: left in, so recall stays honest.
            item = -1 - unknown.setdefault(old_item, len(unknown))
        relevant.setdefault(user, set()).add(item)
    return Split(
        kept.matrix(weights, cutoff),
        relevant,
        len(unknown),
        f"time split at {cutoff:%Y-%m-%d}",
        kept,
        cutoff,
    )


def time_split(
    interactions: Sequence[Interaction], cutoff: datetime, weights: InteractionWeights
) -> Split:
    """`split_at` on a list of interactions."""
    return split_at(InteractionColumns.of(interactions), cutoff, weights)


def latest_split(
    columns: InteractionColumns,
    weights: InteractionWeights,
    now: datetime,
    *,
    test_share: float = 0.2,
    seed: int = 42,
) -> Split:
    """Per person with ≥ 2 items, the latest `test_share` of their items (by when they first
    touched each, at least one) is held out: what each person did next. Items touched at the
    same instant are ordered at random (seeded), so a log stamped all at once is a random
    split."""
    width = max(len(columns.items), 1)
    keys = columns.user * width + columns.item
    by_key = np.lexsort((columns.at, keys))
    first = np.ones(len(by_key), dtype=bool)
    first[1:] = keys[by_key][1:] != keys[by_key][:-1]
    cells, touched = keys[by_key][first], columns.at[by_key][first]
    users = cells // width
    order = np.lexsort((np.random.default_rng(seed).random(len(cells)), touched, users))
    cells, users = cells[order], users[order]
    per_user = np.bincount(users, minlength=len(columns.users))
    count = per_user[users]
    position = np.arange(len(cells)) - (np.cumsum(per_user) - per_user)[users]
    held = (count >= 2) & (position >= count - np.maximum(1, np.round(count * test_share)))
    relevant: dict[int, set[int]] = {}
    for cell in cells[held].tolist():
        relevant.setdefault(cell // width, set()).add(cell % width)
    kept = columns.subset(~np.isin(keys, cells[held]))
    return Split(
        kept.matrix(weights, now),
        relevant,
        0,
        f"latest {test_share:.0%} of each person's items",
        kept,
        now,
    )


def quantile_time(columns: InteractionColumns, share: float) -> datetime:
    """The instant before which `share` of the interactions happened."""
    return datetime.fromtimestamp(float(np.quantile(columns.at, share)), UTC)


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


def measure(
    model: Recommender, train: sparse.csr_matrix, split: Split, users: list[int], k: int
) -> tuple[Scores, float]:
    """Fit `model` on `train`, score its top k for `users`; (scores, seconds taken)."""
    started = monotonic()
    model.fit(train)
    recs = recommend_for(model, train, users, k)
    relevant = {u: split.relevant[u] for u in users}
    return score_all(recs, relevant, k, train.shape[1]), monotonic() - started


def nobody_to_evaluate(split: Split) -> InputError:
    return InputError(
        f"nobody to evaluate on ({split.description}): no person has interactions on "
        "both sides of the split",
        hint="use more data, or another --cutoff for a time split",
    )
