"""On a slice of the real shop's orders, a learned model beats popularity; and the data set
travels with the repository.

*"Online Retail" data set, D. Chen, UCI Machine Learning Repository, CC BY 4.0.*
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pertinent.cli import app
from pertinent.errors import InputError
from pertinent.recommend.evaluate import evaluate, time_split
from pertinent.recommend.interactions import InteractionWeights
from pertinent.recommend.retail import CUTOFF, find_retail_file, load_retail


def test_als_beats_popularity_on_real_purchases(retail_file: Path) -> None:
    interactions, products = load_retail(retail_file, limit_customers=1500)
    assert len(products) > 1000
    split = time_split(interactions, CUTOFF, InteractionWeights())
    rows = {row.model: row.scores for row in evaluate(split, ["als"], k=10)}
    assert rows["popular"].users > 300
    assert rows["als"].ndcg > rows["popular"].ndcg
    assert rows["als"].hit_rate > rows["popular"].hit_rate


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
