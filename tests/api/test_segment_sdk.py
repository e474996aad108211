"""The official Segment Python SDK, pointed at Pertinent, builds a real profile."""

from __future__ import annotations

import httpx
from apitools import ADMIN, WRITE_KEY, settle
from segment.analytics.client import Client

from pertinent.app import System


def test_segment_sdk_identify_track_page_alias_build_a_merged_profile(
    base_url: str, system: System
) -> None:
    errors: list[Exception] = []
    client = Client(
        write_key=WRITE_KEY,
        host=base_url,
        sync_mode=True,
        on_error=lambda e, _batch: errors.append(e),
    )
    client.page(anonymous_id="anon-1", name="Home", properties={"path": "/"})
    client.track(
        anonymous_id="anon-1",
        event="Product Viewed",
        properties={"product_id": "p1", "category": "Garden", "price": "19.99"},
    )
    client.identify(
        user_id="u-42",
        anonymous_id="anon-1",
        traits={"email": " Jo@Example.com ", "first_name": "Jo", "age": 31},
    )
    client.track(
        user_id="u-42",
        event="Order Completed",
        properties={
            "order_id": "o1",
            "revenue": 19.99,
            "products": [{"product_id": "p1", "category": "Garden"}],
        },
    )
    client.track(user_id="old-crm-7", event="Product Viewed", properties={"category": "Books"})
    client.alias(previous_id="old-crm-7", user_id="u-42")
    client.flush()
    assert errors == []
    settle(system)

    profile = httpx.get(f"{base_url}/v1/profiles/u-42", headers=ADMIN).json()
    assert profile["user_id"] == "u-42"
    assert profile["anonymous_ids"] == ["anon-1"]
    assert "old-crm-7" in profile["user_ids"]
    assert profile["traits"] == {"email": "jo@example.com", "first_name": "Jo", "age": 31}
    counts = profile["computed"]["event_counts"]
    assert counts["Page Viewed"] == 1
    assert counts["Product Viewed"] == 2
    assert counts["Order Completed"] == 1
    assert profile["computed"]["orders"] == 1
    assert profile["computed"]["revenue"] == 19.99
    assert profile["computed"]["favourite_category"] == "Garden"
    same = httpx.get(f"{base_url}/v1/profiles/anon-1", headers=ADMIN).json()
    assert same["profile_id"] == "u-42"
    timeline = httpx.get(f"{base_url}/v1/profiles/u-42/events", headers=ADMIN).json()
    own = [e for e in timeline if e["action"] not in ("journey_step", "segment_entered")]
    assert len(own) == 6
    assert timeline[0]["timestamp"] >= timeline[-1]["timestamp"]
    [page] = [e for e in timeline if e["action"] == "Page Viewed"]
    assert page["properties"] == {"name": "Home", "path": "/"}, "the SDK's page name, filterable"
