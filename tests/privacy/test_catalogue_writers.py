"""The shared catalogue is written by the shop's servers (a server-side key, imports, the
products API), never by a browser key, which anyone reading the shop's pages holds."""

from __future__ import annotations

import httpx
from apitools import ADMIN, BROWSER_KEY, WRITE_KEY, settle

from pertinent.app import System


def _viewed(title: str, url: str) -> dict[str, object]:
    return {
        "userId": "mallory",
        "event": "Product Viewed",
        "properties": {"product_id": "lamp", "name": title, "url": url, "price": 1},
    }


def _lamp(system: System) -> dict[str, object] | None:
    with system.storage.snapshot() as tx:
        found = tx.products.get(["lamp"]).get("lamp")
    return found.model_dump(include={"title", "url", "price"}) if found else None


def test_a_browser_keys_product_event_counts_for_the_person_but_never_edits_the_catalogue(
    base_url: str, system: System
) -> None:
    shop = httpx.put(
        f"{base_url}/v1/products",
        json=[{"item_id": "lamp", "title": "Desk lamp", "url": "https://shop.example/p/lamp"}],
        headers=ADMIN,
    )
    assert shop.status_code == 200
    hostile = _viewed("Hacked lamp", "https://evil.example/phish")
    answer = httpx.post(f"{base_url}/v1/track", json=hostile, auth=(BROWSER_KEY, ""))
    assert answer.status_code == 200
    settle(system)
    assert _lamp(system) == {
        "title": "Desk lamp",
        "url": "https://shop.example/p/lamp",
        "price": None,
    }
    profile = httpx.get(f"{base_url}/v1/profiles/mallory", headers=ADMIN).json()
    assert profile["computed"]["event_counts"] == {"Product Viewed": 1}, "still the person's view"


def test_a_server_keys_product_event_describes_the_product(base_url: str, system: System) -> None:
    described = _viewed("Desk lamp", "https://shop.example/p/lamp")
    assert httpx.post(f"{base_url}/v1/track", json=described, auth=(WRITE_KEY, "")).is_success
    settle(system)
    assert _lamp(system) == {"title": "Desk lamp", "url": "https://shop.example/p/lamp", "price": 1}


def test_a_browser_key_cannot_describe_a_product_the_catalogue_lacks(
    base_url: str, system: System
) -> None:
    hostile = _viewed("Free money", "https://evil.example/")
    batch = {"batch": [{**hostile, "type": "track"}]}
    assert httpx.post(f"{base_url}/v1/batch", json=batch, auth=(BROWSER_KEY, "")).is_success
    settle(system)
    assert _lamp(system) is None
