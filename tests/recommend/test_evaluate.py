"""Offline evaluation: holding out part of what people did, and scoring models on it."""

from __future__ import annotations

import csv
import sys
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from synthetic_tastes import T0, two_taste_groups
from typer.testing import CliRunner

from pertinent.cli import app, main
from pertinent.recommend.evaluate import random_split, time_split
from pertinent.recommend.interactions import (
    Interaction,
    InteractionColumns,
    InteractionWeights,
    build_matrix,
)
from pertinent.recommend.metrics import Scores

WEIGHTS = InteractionWeights()


def _orders(per_person: dict[str, int]) -> list[Interaction]:
    return [
        Interaction(person, f"item-{n}", "ordered", T0 + timedelta(hours=n))
        for person, count in per_person.items()
        for n in range(count)
    ]


def test_a_random_split_holds_out_a_quarter_of_each_persons_items() -> None:
    counts = {"one": 1, "two": 2, "four": 4, "eight": 8, "twelve": 12}
    orders = _orders(counts)
    data = build_matrix(orders, WEIGHTS, T0)
    split = random_split(InteractionColumns.of(orders), WEIGHTS, T0)
    held = {data.users[u]: len(items) for u, items in split.relevant.items()}
    assert held == {"two": 1, "four": 1, "eight": 2, "twelve": 3}, "one item alone stays in"
    for user, items in split.relevant.items():
        row = data.matrix[user]
        kept = set(split.train.matrix[user].indices)
        assert not kept & items, "a held-out item is not in training"
        assert kept | items == set(row.indices), "nothing else is lost"
    assert split.train.matrix.nnz == data.matrix.nnz - sum(held.values())


def test_a_random_split_is_the_same_for_the_same_seed() -> None:
    data = InteractionColumns.of(two_taste_groups())

    def split(seed: int) -> dict[int, set[int]]:
        return random_split(data, WEIGHTS, T0, seed=seed).relevant

    assert split(7) == split(7)
    assert split(7) != split(8)


def test_a_time_split_expects_only_products_first_touched_after_the_cutoff() -> None:
    cutoff = T0 + timedelta(days=10)
    before, after = cutoff - timedelta(days=1), cutoff + timedelta(days=1)
    history = [
        Interaction("ann", "lamp", "viewed", before),
        Interaction("ann", "lamp", "ordered", after),  # bought again: nothing new to predict
        Interaction("ann", "mug", "ordered", after),
        Interaction("ann", "brand-new", "ordered", after),  # no model can know it yet
        Interaction("bob", "mug", "viewed", before),
        Interaction("bob", "mug", "ordered", after),
        Interaction("cy", "lamp", "ordered", after),  # a newcomer: unknown in training
    ]
    split = time_split(history, cutoff, WEIGHTS)
    train = split.train
    assert train.users == ["ann", "bob"]
    relevant = {train.users[u]: items for u, items in split.relevant.items()}
    assert set(relevant) == {"ann"}
    known = {train.items[i] for i in relevant["ann"] if i >= 0}
    assert known == {"mug"}
    assert len(relevant["ann"]) == 2, "the new product still counts against recall"
    assert split.items_outside_train == 1
    assert train.matrix[train.user_index["ann"], train.item_index["lamp"]] == 1.0


def _write_csv(path: Path, interactions: list[Interaction]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "item_id", "kind", "timestamp"])
        for it in interactions:
            writer.writerow([it.user_id, it.item_id, it.kind, it.timestamp.isoformat()])
    return path


def test_evaluate_from_a_file_writes_a_row_per_model_with_every_metric(tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "orders.csv", two_taste_groups())
    out = tmp_path / "report.json"
    result = CliRunner().invoke(
        app,
        ["recommend", "evaluate", "--data", str(data), "--split", "random", "--json", str(out)],
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(out.read_bytes())
    assert report["split"] == "random 75%/25% per user"
    rows = {row["model"]: row for row in report["rows"]}
    assert set(rows) == {"auto", "ease", "als", "bpr", "itemknn", "sar", "popular"}
    metrics = set(Scores.__dataclass_fields__)
    for row in rows.values():
        assert metrics <= set(row)
        assert all(0 <= row[m] <= 1 for m in metrics - {"users"})
    ranked = [row["ndcg"] for row in report["rows"]]
    assert ranked == sorted(ranked, reverse=True), "best first"
    assert rows["sar"]["ndcg"] > rows["popular"]["ndcg"], "taste beats popularity here"
    assert "popular" in result.output


def _evaluate_nobody(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[object, str]:
    """`pertinent recommend evaluate` where everyone bought a single product: nothing can be
    held out. Returns the exit code and what went to stderr."""
    data = _write_csv(tmp_path / "orders.csv", _orders({"ann": 1, "bob": 1, "cy": 1}))
    args = ["pertinent", "recommend", "evaluate", "--data", str(data), "--split", "random"]
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code, capsys.readouterr().err


def test_evaluate_with_nobody_to_evaluate_is_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stderr = _evaluate_nobody(tmp_path, monkeypatch, capsys)
    assert code == 1
    assert stderr.startswith("error: nobody to evaluate on")
    assert "Traceback" not in stderr


def test_evaluate_with_nobody_to_evaluate_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, stderr = _evaluate_nobody(tmp_path, monkeypatch, capsys)
    assert len(stderr.strip().splitlines()) == 1, stderr
