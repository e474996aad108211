"""On a slice of the real shop's orders, a learned model beats popularity; and the data set
travels with the repository.

*"Online Retail" data set, D. Chen, UCI Machine Learning Repository, CC BY 4.0.*
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner

from pertinent.cli import app
from pertinent.errors import InputError
from pertinent.recommend.evaluate import Split, time_split
from pertinent.recommend.interactions import InteractionWeights
from pertinent.recommend.leaderboard import compare
from pertinent.recommend.metrics import score_all
from pertinent.recommend.models import FactorSettings
from pertinent.recommend.retail import CUTOFF, find_retail_file, load_retail
from pertinent.recommend.settings import RecommendationSettings


@pytest.fixture(scope="module")
def split(retail_file: Path) -> Split:
    interactions, products = load_retail(retail_file, limit_customers=1500)
    assert len(products) > 1000
    return time_split(interactions, CUTOFF, InteractionWeights())


@pytest.mark.slow
def test_ease_and_als_beat_popularity_on_real_purchases(split: Split) -> None:
    rows = {row.model: row.scores for row in compare(split, ["ease", "als"], k=10)}
    assert rows["popular"].users > 300
    for model in ("ease", "als"):
        assert rows[model].ndcg > 1.5 * rows["popular"].ndcg
        assert rows[model].hit_rate > rows["popular"].hit_rate


@pytest.mark.slow
def test_our_als_loses_nothing_to_bare_implicit_on_the_real_shop(split: Split) -> None:
    """implicit's own defaults (32 factors, regularization 0.01, 15 iterations) through
    Pertinent's settings, against the library called directly and ranking with its own
    `recommend`."""
    settings = RecommendationSettings(
        factors=FactorSettings(factors=32, regularization=0.01, iterations=15)
    )
    ours = compare(split, ["als"], settings=settings)[0]
    assert ours.model == "als"
    train = split.train.matrix
    with threadpool_limits(1, "blas"):
        bare = AlternatingLeastSquares(
            factors=32, regularization=0.01, iterations=15, random_state=42, num_threads=1
        )
        bare.fit(train, show_progress=False)
    people = np.asarray(split.people())
    ids, _ = bare.recommend(people, train[people], N=10, filter_already_liked_items=True)
    listed = {int(p): [int(i) for i in row] for p, row in zip(people, ids, strict=True)}
    theirs = score_all(listed, split.relevant, 10, train.shape[1])
    assert ours.scores.ndcg >= theirs.ndcg - 1e-9
    assert ours.scores.ndcg > 0.05


def test_the_data_set_is_found_in_the_datasets_folder_of_a_clone(retail_file: Path) -> None:
    clone_root = retail_file.parents[1]
    assert find_retail_file(None, clone_root) == clone_root / "datasets" / retail_file.name
    assert find_retail_file(retail_file, Path("/nonexistent")) == retail_file


def test_without_the_file_the_error_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(InputError) as error:
        find_retail_file(None, tmp_path)
    assert "--retail-file" in str(error.value)
    assert "PERTINENT_RETAIL_FILE" in str(error.value)
    with pytest.raises(InputError, match="not there"):
        find_retail_file(tmp_path / "missing.csv.gz", tmp_path)


def test_evaluate_retail_outside_a_clone_says_which_option_to_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PERTINENT_RETAIL_FILE", raising=False)
    result = CliRunner().invoke(app, ["recommend", "evaluate", "--retail"])
    assert result.exit_code != 0
    assert "--retail-file" in str(result.exception) + result.output
