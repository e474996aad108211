"""`model: auto`: pick the model that ranks best on the shop's own data.

At each training, the candidate models, each with a small grid of settings, learn from the
workspace's interactions without each person's latest ones (the latest `auto.holdout` share
of the products each person touched) and are asked for those: what each person did next.
nDCG@10 ranks them. A challenger replaces the
model chosen last time only if it ranks better by more than `auto.margin` (relative), and a
variant of a model replaces that model's own settings only on the same terms, so the choice
does not flip on noise. The chosen model is then trained on everything and served.

The time is bounded: candidates run cheapest-first per round (every model's own settings,
then the variants), and none starts after `auto.budget_seconds`; the one running finishes.
At most `auto.max_people` people are scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np

from pertinent.clock import monotonic
from pertinent.recommend.choice import Change, ModelChoice, configured
from pertinent.recommend.evaluate import Progress, latest_split, measure
from pertinent.recommend.interactions import InteractionColumns
from pertinent.recommend.settings import Candidate, RecommendationSettings

K = 10
# Each model's grid: its own (workspace) settings first, then a few changes known to matter
# (docs/recommendations.md shows them measured on the real shop).
GRID: dict[Candidate, list[dict[str, Change]]] = {
    "ease": [
        {},
        {"ease.regularization": 0.5},
        {"ease.regularization": 8.0},
        {"ease.neighbours": 50},
    ],
    "als": [
        {},
        {"factors.alpha": 0.25},
        {"factors.factors": 128, "factors.regularization": 2.0},
        {"factors.factors": 32, "factors.regularization": 0.01, "factors.iterations": 15},
    ],
    "bpr": [{}],
    "itemknn": [{}, {"neighbours.neighbours": 20}, {"neighbours.neighbours": 400}],
    "sar": [{}, {"weights.half_life_days": 30.0}, {"weights.half_life_days": 120.0}],
    "sar_lift": [{}],
    "popular": [{}],
}
Status = Literal["measured", "skipped", "failed"]


@dataclass(frozen=True)
class Trial:
    """One row of the leaderboard."""

    choice: ModelChoice
    status: Status
    ndcg: float | None = None
    seconds: float = 0.0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.choice.label,
            "model": self.choice.model,
            "changes": self.choice.changes,
            "status": self.status,
            "ndcg": self.ndcg,
            "seconds": round(self.seconds, 3),
            "note": self.note,
        }


@dataclass(frozen=True)
class Selection:
    chosen: ModelChoice
    reason: str
    holdout: str
    people: int
    evaluated_at: datetime
    chosen_at: datetime  # when this choice was first made (kept choices keep their date)
    seconds: float
    leaderboard: tuple[Trial, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.label,
            "model": self.chosen.model,
            "changes": self.chosen.changes,
            "reason": self.reason,
            "holdout": self.holdout,
            "people": self.people,
            "evaluated_at": self.evaluated_at.isoformat(),
            "chosen_at": self.chosen_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "leaderboard": [t.as_dict() for t in self.leaderboard],
        }


def candidates(settings: RecommendationSettings) -> list[ModelChoice]:
    """Every candidate model's grid, in rounds: each model's own settings, then each model's
    first variant, and so on (so a budget cut drops variants, not models)."""
    grids: list[list[ModelChoice]] = []
    for name in dict.fromkeys(settings.auto.candidates):
        base = configured(settings, name)
        grid: list[ModelChoice] = []
        for changes in GRID[name]:
            choice = base.with_changes(changes)
            if all(_settings(choice) != _settings(other) for other in grid):
                grid.append(choice)
        grids.append(grid)
    rounds = max(len(grid) for grid in grids)
    return [grid[n] for n in range(rounds) for grid in grids if n < len(grid)]


def _settings(choice: ModelChoice) -> dict[str, Any]:
    return choice.model_dump(exclude={"changes"})


def _pick(
    trials: list[Trial], incumbent: Selection | None, margin: float
) -> tuple[Trial, str, bool]:
    """(the trial chosen, why, whether it is the incumbent kept)."""
    measured = [t for t in trials if t.status == "measured" and t.ndcg is not None]
    best = max(measured, key=lambda t: t.ndcg or 0.0)
    floor = (best.ndcg or 0.0) * (1 - margin)
    if incumbent is not None:
        kept = next(
            (t for t in measured if _settings(t.choice) == _settings(incumbent.chosen)), None
        )
        if kept is not None and (kept.ndcg or 0.0) >= floor:
            why = "best" if kept is best else f"kept: within {margin:.0%} of {best.choice.label}"
            return kept, why, True
    own = next(t for t in measured if t.choice.model == best.choice.model and not t.choice.changes)
    if own is not best and (own.ndcg or 0.0) >= floor:
        return own, f"its variants do not beat its own settings by {margin:.0%}", False
    return best, "best", False


def select_model(
    columns: InteractionColumns,
    settings: RecommendationSettings,
    now: datetime,
    *,
    incumbent: Selection | None = None,
    progress: Progress | None = None,
) -> Selection:
    """Compare the candidates on a holdout of the interactions in `columns` and choose one (see
    the module docstring). Never fails for lack of data: with too few people to compare on,
    the first candidate other than popularity is chosen, and the reason says so."""
    started = monotonic()
    auto = settings.auto
    pool = candidates(settings)
    fallback = next((c for c in pool if c.model != "popular"), pool[0])
    # Catalogue products nobody touched yet have nothing to teach or test.
    touched = columns.subset(np.ones(len(columns.at), dtype=bool), compact=True)
    split = latest_split(touched, settings.weights, now, test_share=auto.holdout, seed=auto.seed)
    people = split.people()
    if len(people) < auto.min_people:
        reason = f"too little data to compare (fewer than {auto.min_people} people to test on)"
        skipped = tuple(Trial(c, "skipped", note="too little data") for c in pool)
        return Selection(
            fallback, reason, split.description, 0, now, now, monotonic() - started, skipped
        )
    if len(people) > auto.max_people:
        rng = np.random.default_rng(auto.seed)
        people = sorted(rng.choice(people, auto.max_people, replace=False).tolist())
    trials: list[Trial] = []
    for done, choice in enumerate(pool):
        if progress is not None:
            progress("auto", done, len(pool), choice.label)
        if trials and monotonic() - started > auto.budget_seconds:
            trials.append(Trial(choice, "skipped", note=f"past {auto.budget_seconds:g}s budget"))
            continue
        try:
            scores, seconds = measure(
                choice.build(), split.matrix(choice.weights), split, people, K
            )
        except (np.linalg.LinAlgError, MemoryError, ValueError) as exc:
            trials.append(Trial(choice, "failed", note=f"{type(exc).__name__}: {exc}"))
            continue
        trials.append(Trial(choice, "measured", scores.ndcg, seconds))
    if progress is not None:
        progress("auto", len(pool), len(pool), "chosen")
    ranked = sorted(trials, key=lambda t: (t.status != "measured", -(t.ndcg or 0.0)))
    if not any(t.status == "measured" for t in trials):
        return Selection(
            fallback,
            "every candidate failed",
            split.description,
            len(people),
            now,
            now,
            monotonic() - started,
            tuple(ranked),
        )
    chosen, reason, kept = _pick(trials, incumbent, auto.margin)
    since = incumbent.chosen_at if kept and incumbent is not None else now
    return Selection(
        chosen.choice,
        reason,
        split.description,
        len(people),
        now,
        since,
        monotonic() - started,
        tuple(ranked),
    )
