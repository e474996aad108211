"""From scores to a list: the rules after scoring, and a list that is full whenever the
catalogue can fill it.

Ineligible items are out (excluded, out of stock, another category than asked). The
diversity cap (`max_per_category`) then reorders rather than shortens: the best items that
fit under the cap come first, and if that leaves slots empty, the next-best items fill them
in score order, so a list for one category, or from a small catalogue, still has n items.
"""

from __future__ import annotations

import numpy as np

from pertinent.recommend.models import top_k
from pertinent.recommend.snapshot import Recommendation, Snapshot


def rank(
    snap: Snapshot,
    scores: np.ndarray,
    n: int,
    excluded: set[int],
    category: str | None,
    cap: int | None,
) -> list[Recommendation]:
    """The n best eligible items, best first within the cap, then the fill."""
    eligible = np.isfinite(scores) & snap.in_stock
    if excluded:
        eligible[list(excluded)] = False
    if category is not None:
        eligible &= snap.categories == category
    candidates = np.flatnonzero(eligible)
    # Sorting every candidate costs more than the rest of a request: rank a short list
    # first, and only the whole list when the cap leaves the short one short.
    short = min(len(candidates), 4 * n + 40)
    ranked = candidates[top_k(scores[candidates][None, :], short)[0]]
    chosen = _under_cap(snap, ranked, n, cap)
    if len(chosen) < n and short < len(candidates):
        ranked = candidates[np.argsort(-scores[candidates], kind="stable")]
        chosen = _under_cap(snap, ranked, n, cap)
    if len(chosen) < n:
        taken = set(chosen)
        chosen += [i for i in ranked.tolist() if i not in taken][: n - len(chosen)]
    return [
        Recommendation(snap.data.items[i], float(scores[i]), snap.products.get(snap.data.items[i]))
        for i in chosen
    ]


def _under_cap(snap: Snapshot, ranked: np.ndarray, n: int, cap: int | None) -> list[int]:
    """The first n of `ranked` that the per-category cap lets through (items of unknown
    category are never capped)."""
    per_category: dict[str, int] = {}
    out: list[int] = []
    for index in ranked.tolist():
        if len(out) >= n:
            break
        item_category = snap.categories[index]
        if cap is not None and item_category is not None:
            if per_category.get(item_category, 0) >= cap:
                continue
            per_category[item_category] = per_category.get(item_category, 0) + 1
        out.append(index)
    return out
