"""A workspace with a tracking plan, over HTTP: events checked against it, the answer naming
each breach, violations readable per event and field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from apitools import ADMIN, WRITE_KEY
from conftest import START

from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.scaffold import write_example_workspace

AUTH = (WRITE_KEY, "")
ORDER = """
event: Order Completed
mode: reject
schema:
  type: object
  required: [order_id, revenue]
  properties:
    revenue: {type: number, minimum: 0}
    products: {type: array, items: {type: object, required: [product_id]}}
"""
VIEW = """
event: Product Viewed
schema: {type: object, required: [product_id]}
"""


@pytest.fixture
def system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[System]:
    root = tmp_path / "ws"
    write_example_workspace(root)
    (root / "tracking_plan").mkdir()
    (root / "tracking_plan" / "order_completed.yaml").write_text(ORDER)
    (root / "tracking_plan" / "product_viewed.yaml").write_text(VIEW)
    monkeypatch.setenv("PERTINENT_SMTP_URL", "smtp://127.0.0.1:1")
    built = build_system(load_workspace(root), clock=SimClock(START))
    yield built
    built.close()


def test_events_are_checked_against_their_plan_and_violations_counted(base_url: str) -> None:
    order = {"type": "track", "event": "Order Completed", "userId": "u1"}
    view = {"type": "track", "event": "Product Viewed", "userId": "u1"}
    batch = [
        {**order, "properties": {"order_id": "o1", "revenue": 12}},
        {**order, "properties": {"order_id": "o2", "revenue": -3}},
        {**order, "properties": {"order_id": "o3", "revenue": -1}},
        {**order, "properties": {"revenue": 5, "products": [{"price": 2}]}},
        {**view, "properties": {"category": "Garden"}},
        {"type": "track", "event": "Wishlisted", "userId": "u1"},
    ]
    answer = httpx.post(f"{base_url}/v1/batch", json={"batch": batch}, auth=AUTH).json()

    assert answer["accepted"] == 3
    assert [(r["index"], r["field"]) for r in answer["rejected"]] == [
        (1, "/properties/revenue"),
        (2, "/properties/revenue"),
        (3, "/properties/order_id"),
    ]
    assert "(and 1 more)" in answer["rejected"][2]["reason"]
    assert [(f["index"], f["kind"], f["field"]) for f in answer["flags"]] == [
        (4, "tracking_plan", "/properties/product_id"),
        (5, "unplanned_event", "/event"),
    ]

    plans = httpx.get(f"{base_url}/v1/tracking-plan", headers=ADMIN).json()
    counts = httpx.get(f"{base_url}/v1/tracking-plan/violations", headers=ADMIN).json()

    assert [(p["event"], p["mode"], p["file"]) for p in plans] == [
        ("Order Completed", "reject", "order_completed.yaml"),
        ("Product Viewed", "flag", "product_viewed.yaml"),
    ]
    assert [(c["event"], c["field"], c["outcome"], c["count"]) for c in counts] == [
        ("Order Completed", "/properties/revenue", "rejected", 2),
        ("Order Completed", "/properties/order_id", "rejected", 1),
        ("Order Completed", "/properties/products/0/product_id", "rejected", 1),
        ("Product Viewed", "/properties/product_id", "flagged", 1),
        ("Wishlisted", "/event", "flagged", 1),
    ]
    assert httpx.get(f"{base_url}/v1/tracking-plan/violations").status_code == 401
