"""`model: auto`: the candidates, the holdout, and the choice with its margin and budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
from synthetic_tastes import T0, two_taste_groups

from pertinent.recommend.evaluate import latest_split
from pertinent.recommend.interactions import Interaction, InteractionColumns, InteractionWeights
from pertinent.recommend.select import GRID, Selection, candidates, select_model
from pertinent.recommend.settings import AutoSettings, RecommendationSettings

NOW = T0 + timedelta(days=30)
WEIGHTS = InteractionWeights()


def _select(
    interactions: list[Interaction], incumbent: Selection | None = None, **auto: object
) -> Selection:
    settings = RecommendationSettings(auto=AutoSettings(**auto))  # type: ignore[arg-type]
    return select_model(InteractionColumns.of(interactions), settings, NOW, incumbent=incumbent)


def _bestsellers(people: int = 80, seed: int = 3) -> list[Interaction]:
    """No taste at all: everyone buys six products drawn by one steep popularity curve."""
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, 41) ** 1.5
    out = []
    for person in range(people):
        items = rng.choice(40, size=6, replace=False, p=weights / weights.sum())
        for n, item in enumerate(items):
            out.append(Interaction(f"p{person}", f"i{item}", "ordered", T0 + timedelta(hours=n)))
    return out


def test_every_model_is_tried_with_its_own_settings_before_any_variant() -> None:
    settings = RecommendationSettings()
    pool = candidates(settings)
    first_round = pool[: len(settings.auto.candidates)]
    assert [c.model for c in first_round] == list(settings.auto.candidates)
    assert all(not c.changes for c in first_round)
    assert len(pool) == sum(len(GRID[name]) for name in settings.auto.candidates)


def test_a_variant_equal_to_the_workspace_settings_is_tried_once() -> None:
    settings = RecommendationSettings.model_validate({"ease": {"regularization": 8.0}})
    labels = [c.label for c in candidates(settings) if c.model == "ease"]
    assert labels == ["ease", "ease(regularization=0.5)", "ease(neighbours=50)"]


def test_the_holdout_is_each_persons_latest_products() -> None:
    history = [
        Interaction("ann", f"item-{n}", "ordered", T0 + timedelta(days=n)) for n in range(10)
    ] + [Interaction("bob", "item-0", "ordered", T0)]
    columns = InteractionColumns.of(history)
    split = latest_split(columns, WEIGHTS, NOW, test_share=0.2)
    ann, bob = columns.user_index["ann"], columns.user_index["bob"]
    assert {columns.items[i] for i in split.relevant[ann]} == {"item-8", "item-9"}
    assert bob not in split.relevant, "one product alone stays in training"
    assert set(split.train.matrix[ann].indices) == {
        columns.item_index[f"item-{n}"] for n in range(8)
    }


def test_on_a_shop_of_distinct_tastes_auto_picks_a_model_of_taste() -> None:
    selection = _select(two_taste_groups(people=60))
    board = selection.leaderboard
    assert selection.chosen.model != "popular"
    assert [t.status for t in board] == ["measured"] * len(board)
    scores = [t.ndcg or 0.0 for t in board]
    assert scores == sorted(scores, reverse=True), "best first"
    popular = next(t for t in board if t.choice.model == "popular")
    chosen = next(t for t in board if t.choice == selection.chosen)
    assert (chosen.ndcg or 0) > 1.5 * (popular.ndcg or 0)
    assert selection.people == 60 and selection.chosen_at == NOW


def test_on_a_shop_without_taste_auto_does_no_worse_than_popularity() -> None:
    selection = _select(_bestsellers())
    chosen = next(t for t in selection.leaderboard if t.choice == selection.chosen)
    popular = next(t for t in selection.leaderboard if t.choice.model == "popular")
    assert (chosen.ndcg or 0) >= (popular.ndcg or 0)


def test_the_last_choice_stays_while_it_is_within_the_margin_of_the_best() -> None:
    first = _select(two_taste_groups(people=60))
    best, runner_up = first.leaderboard[0], first.leaderboard[1]
    gap = 1 - (runner_up.ndcg or 0) / (best.ndcg or 1)
    earlier = NOW - timedelta(days=3)
    incumbent = replace(first, chosen=runner_up.choice, chosen_at=earlier)

    kept = _select(two_taste_groups(people=60), incumbent, margin=min(gap + 0.05, 0.99))
    assert kept.chosen == runner_up.choice
    assert kept.chosen_at == earlier, "still the choice made then"
    assert kept.reason.startswith("kept")

    if gap > 0:
        switched = _select(two_taste_groups(people=60), incumbent, margin=gap / 2)
        assert switched.chosen != runner_up.choice and switched.chosen_at == NOW


def test_a_tuned_variant_must_beat_its_models_own_settings_by_the_margin() -> None:
    selection = _select(two_taste_groups(people=60), margin=0.99)
    assert selection.chosen.changes == {}, "within 99 %: the model's own settings"


def test_no_candidate_starts_after_the_budget() -> None:
    selection = _select(two_taste_groups(people=60), budget_seconds=1e-9)
    statuses = [t.status for t in selection.leaderboard]
    assert statuses.count("measured") == 1, "the first always runs"
    assert statuses.count("skipped") == len(statuses) - 1
    assert selection.chosen == candidates(RecommendationSettings())[0]
    assert all("budget" in t.note for t in selection.leaderboard if t.status == "skipped")


def test_with_too_little_data_auto_serves_the_first_candidate_and_says_why() -> None:
    selection = _select(two_taste_groups(people=6))
    assert selection.chosen.model == "ease" and not selection.chosen.changes
    assert "too little data" in selection.reason
    assert {t.status for t in selection.leaderboard} == {"skipped"}
    assert _select([]).chosen.model == "ease", "an empty log is not an error"


def test_the_selection_reports_its_progress_to_the_end() -> None:
    seen: list[tuple[int, int]] = []
    settings = RecommendationSettings()
    select_model(
        InteractionColumns.of(two_taste_groups(people=60)),
        settings,
        NOW,
        progress=lambda what, done, total, step: seen.append((done, total)),
    )
    total = len(candidates(settings))
    assert [done for done, _ in seen] == list(range(total + 1))
    assert {t for _, t in seen} == {total}
