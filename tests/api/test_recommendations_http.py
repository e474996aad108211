"""A shop sends e-commerce events, trains, and asks for recommendations over HTTP.

Two groups of shoppers with disjoint tastes (products a*, category cat-a; products b*,
category cat-b) browse and buy through /v1/batch; the answers must stay within each
shopper's taste, and nobody ever gets an error for being new.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from apitools import ADMIN, WRITE_KEY, settle
from conftest import START
from server import serving
from synthetic_tastes import GROUP_ITEMS

from pertinent.api.app import create_app
from pertinent.app import build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.scaffold import write_example_workspace

AUTH = (WRITE_KEY, "")
PEOPLE = 20
VIEWS = 6  # products each person views
ORDERS = 2  # of which they buy the first ones


@dataclass(frozen=True)
class Shop:
    url: str
    trained: dict[str, Any]  # the answer of POST /v1/recommendations/train
    viewed: dict[str, list[str]]
    ordered: dict[str, list[str]]

    def recommend(self, user: str, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}/v1/recommendations/{user}", params=params, headers=ADMIN)

    def items(self, user: str, **params: Any) -> list[str]:
        answer = self.recommend(user, **params)
        assert answer.status_code == 200, answer.text
        return [i["item_id"] for i in answer.json()["items"]]


def _product(item: str) -> dict[str, Any]:
    return {
        "product_id": item,
        "name": f"Item {item}",
        "category": f"cat-{item[0]}",
        "url": f"https://shop.example/p/{item}",
        "price": 10.0,
    }


def _track(user: str, name: str, at: datetime, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": user,
        "event": name,
        "timestamp": at.isoformat(),
        "properties": props,
    }


def _shopping() -> tuple[list[dict[str, Any]], dict[str, list[str]], dict[str, list[str]]]:
    rng = np.random.default_rng(3)
    events: list[dict[str, Any]] = []
    viewed: dict[str, list[str]] = {}
    ordered: dict[str, list[str]] = {}
    for index in range(PEOPLE):
        group = "a" if index % 2 == 0 else "b"
        person = f"{group}-person-{index}"
        viewed[person] = [str(i) for i in rng.choice(GROUP_ITEMS[group], VIEWS, replace=False)]
        ordered[person] = viewed[person][:ORDERS]
        at = START - timedelta(days=3, hours=index)
        for n, item in enumerate(viewed[person]):
            events.append(
                _track(person, "Product Viewed", at + timedelta(minutes=n), _product(item))
            )
        for n, item in enumerate(ordered[person]):
            line = {**_product(item), "quantity": 1, "order_id": f"{person}-{n}"}
            events.append(_track(person, "Order Completed", at + timedelta(hours=1), line))
    # A newcomer who told us what they like, and nothing else.
    events.append({"type": "identify", "userId": "newbie", "traits": {"interests": ["cat-b"]}})
    return events, viewed, ordered


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("reco") / "ws"
    write_example_workspace(root)
    config = root / "pertinent.yaml"
    text = config.read_text()
    # The example caps 2 products per category; these stories are about taste, not diversity.
    assert "max_per_category: 2\n" in text
    config.write_text(text.replace("max_per_category: 2\n", "max_per_category: null\n"))
    return root


@contextmanager
def _open_shop(workspace: Path, folder: Path) -> Iterator[Shop]:
    """A shop with its own database, its shopping sent over HTTP, processed and trained."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PERTINENT_SMTP_URL", "smtp://127.0.0.1:1")
        system = build_system(
            load_workspace(workspace),
            clock=SimClock(START),
            database_url=f"sqlite:///{folder / 'shop.db'}",
        )
    try:
        with serving(create_app(system)) as url:
            events, viewed, ordered = _shopping()
            answer = httpx.post(f"{url}/v1/batch", json={"batch": events}, auth=AUTH)
            assert answer.json()["accepted"] == len(events), answer.text
            settle(system)
            trained = httpx.post(f"{url}/v1/recommendations/train", headers=ADMIN)
            assert trained.status_code == 200, trained.text
            yield Shop(url, trained.json(), viewed, ordered)
    finally:
        system.close()


@pytest.fixture(scope="module")
def shop(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """One trained shop shared by the tests that only read from it."""
    with _open_shop(workspace, tmp_path_factory.mktemp("shop")) as opened:
        yield opened


@pytest.fixture
def own_shop(workspace: Path, tmp_path: Path) -> Iterator[Shop]:
    """A trained shop of the test's own, for tests that change it."""
    with _open_shop(workspace, tmp_path) as opened:
        yield opened


def test_training_reports_what_the_model_learned(shop: Shop) -> None:
    touched = {item for items in shop.viewed.values() for item in items}
    cells = sum(len(items) for items in shop.viewed.values())
    assert shop.trained["configured"] == "auto"
    assert shop.trained["selection_seconds"] >= 0
    assert shop.recommend("a-person-0").json()["version"] == shop.trained["version"] >= 1
    assert shop.trained["users"] == PEOPLE
    assert shop.trained["items"] == len(touched), "the catalogue learned from the events"
    assert shop.trained["interactions"] == cells, "a view and an order of one product: one cell"
    assert shop.trained["seconds"] >= 0


def test_a_shopper_gets_unseen_products_of_their_own_taste_with_titles_and_links(
    shop: Shop,
) -> None:
    answer = shop.recommend("a-person-0", n=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["user_id"] == "a-person-0"
    assert body["model"] in (shop.trained["model"], f"{shop.trained['model']}+catalogue")
    items = body["items"]
    assert len(items) == 5
    assert all(i["item_id"].startswith("a") for i in items), items
    assert not {i["item_id"] for i in items} & set(shop.viewed["a-person-0"])
    first = items[0]
    assert first["title"] == f"Item {first['item_id']}"
    assert first["url"] == f"https://shop.example/p/{first['item_id']}"
    assert first["category"] == "cat-a"
    scores = [i["score"] for i in items]
    assert scores == sorted(scores, reverse=True)
    assert all(i.startswith("b") for i in shop.items("b-person-1", n=5))


def test_asking_for_seen_products_brings_back_viewed_ones_but_not_recent_purchases(
    shop: Shop,
) -> None:
    person = "a-person-0"
    only_viewed = set(shop.viewed[person]) - set(shop.ordered[person])
    items = shop.items(person, n=10, exclude_seen="false")
    assert only_viewed & set(items), "what the person viewed may come back when asked for"
    assert not set(shop.ordered[person]) & set(items), "bought within 90 days stays out"


def test_a_category_filter_keeps_only_that_category(shop: Shop) -> None:
    answer = shop.recommend("a-person-0", n=5, category="cat-b").json()
    assert answer["items"] and all(i["category"] == "cat-b" for i in answer["items"])
    assert shop.items("a-person-0", n=5, category="cat-nothing") == []


def test_an_unknown_person_gets_the_most_popular_products_not_an_error(shop: Shop) -> None:
    people_per_item = Counter(item for items in shop.viewed.values() for item in items)
    most = max(people_per_item.values())
    items = shop.items("never-seen-before", n=5)
    assert len(items) == 5
    assert people_per_item[items[0]] == most
    counts = [people_per_item[i] for i in items]
    assert counts == sorted(counts, reverse=True)


def test_a_newcomer_with_interests_gets_products_of_those_categories(shop: Shop) -> None:
    items = shop.items("newbie", n=5)
    assert len(items) == 5 and all(i.startswith("b") for i in items), items


def test_the_serving_model_shows_how_auto_chose_it(shop: Shop) -> None:
    answer = httpx.get(f"{shop.url}/v1/recommendations/model", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["configured"] == "auto"
    assert body["model"] == shop.trained["model"] and body["version"] == shop.trained["version"]
    selection = body["selection"]
    assert selection["model"] == body["model"]
    board = selection["leaderboard"]
    assert {"ease", "als", "sar", "itemknn", "popular"} <= {row["label"] for row in board}
    scores = [row["ndcg"] for row in board if row["status"] == "measured"]
    assert scores == sorted(scores, reverse=True), "best first"
    assert selection["chosen"] in {row["label"] for row in board if row["status"] == "measured"}
    assert datetime.fromisoformat(selection["chosen_at"]) == START
    assert selection["people"] == PEOPLE, "each shopper's latest views held out"
    assert httpx.get(f"{shop.url}/v1/recommendations/model").status_code == 401


def test_recommendations_need_the_admin_key(shop: Shop) -> None:
    url = f"{shop.url}/v1/recommendations"
    assert httpx.get(f"{url}/a-person-0").status_code == 401
    wrong = {"Authorization": "Bearer not-the-key"}
    assert httpx.get(f"{url}/a-person-0", headers=wrong).status_code == 401
    assert httpx.post(f"{url}/train", headers=wrong).status_code == 401
    assert httpx.put(f"{shop.url}/v1/products", json=[], headers=wrong).status_code == 401


@pytest.mark.parametrize("n", [0, 1000])
def test_an_out_of_range_list_length_is_refused_with_a_message(shop: Shop, n: int) -> None:
    answer = shop.recommend("a-person-0", n=n)
    assert answer.status_code == 400
    body = answer.json()
    assert body["where"] == "query.n"
    assert str(1 if n == 0 else 100) in body["error"]


def _retrain(shop: Shop) -> int:
    answer = httpx.post(f"{shop.url}/v1/recommendations/train", headers=ADMIN)
    assert answer.status_code == 200
    return int(answer.json()["version"])


def _catalogue_as_served(shop: Shop) -> dict[str, dict[str, Any]]:
    """Every product, as a stranger's (popularity) answer shows it."""
    items = shop.recommend("window-shopper", n=100).json()["items"]
    return {i["item_id"]: i for i in items}


def test_a_products_put_keeps_the_valid_product_and_names_the_invalid_one(
    own_shop: Shop,
) -> None:
    put = httpx.put(
        f"{own_shop.url}/v1/products",
        json=[
            {"item_id": "lamp", "title": "Lamp", "category": "cat-c", "brand": "Lumo"},
            {"item_id": "broken", "title": "Broken", "price": -3},
        ],
        headers=ADMIN,
    )
    assert put.status_code == 200
    body = put.json()
    assert body["accepted"] == 1
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "price")]
    assert _retrain(own_shop) == own_shop.trained["version"] + 1
    served = _catalogue_as_served(own_shop)
    assert "broken" not in served
    assert (served["lamp"]["title"], served["lamp"]["brand"]) == ("Lamp", "Lumo")
    assert own_shop.items("someone-new", category="cat-c") == ["lamp"]


def test_a_price_update_keeps_what_the_events_taught_about_the_product(own_shop: Shop) -> None:
    update = httpx.put(
        f"{own_shop.url}/v1/products", json=[{"item_id": "a0", "price": 12.5}], headers=ADMIN
    )
    assert update.json() == {"accepted": 1, "rejected": []}
    _retrain(own_shop)
    a0 = _catalogue_as_served(own_shop)["a0"]
    assert (a0["title"], a0["category"], a0["url"], a0["price"]) == (
        "Item a0",
        "cat-a",
        "https://shop.example/p/a0",
        12.5,
    )


def test_an_erased_person_gets_the_cold_start_answer(own_shop: Shop) -> None:
    person = "a-person-0"
    stranger = own_shop.items("never-seen-before", n=5)
    assert own_shop.items(person, n=5) != stranger
    erased = httpx.delete(f"{own_shop.url}/v1/profiles/{person}", headers=ADMIN)
    assert erased.status_code == 200 and erased.json()["erased_events"] > 0
    assert own_shop.items(person, n=5) == stranger
