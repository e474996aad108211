"""The segments API over HTTP: sizes with warnings, members at an instant, size over time,
versions, and a preview whose bad input is a 4xx naming the problem."""

from __future__ import annotations

from datetime import timedelta

import httpx
from apitools import ADMIN
from conftest import START

from pertinent.app import System
from pertinent.clock import SimClock
from pertinent.events.model import Event


def test_segments_history_members_versions_and_preview(base_url: str, system: System) -> None:
    assert isinstance(system.clock, SimClock)
    with system.storage.transaction() as tx:
        tx.log.append(
            [
                Event(
                    f"m{i}",
                    "track",
                    START,
                    START,
                    user_id=f"u{i}",
                    name="Order Completed",
                    properties={"revenue": 300},
                )
                for i in range(3)
            ]
        )
    system.run_until_idle()
    system.clock.advance(timedelta(hours=2))
    listed = {s["key"]: s for s in httpx.get(f"{base_url}/v1/segments", headers=ADMIN).json()}
    assert listed["high_value"]["size"] == 3
    assert listed["high_value"]["version"] == 1
    assert listed["dormant"]["used_by"] == ["journey win_back"]
    assert "fewer than 100" in listed["dormant"]["warning"]
    assert listed["high_value"]["warning"] is None, "not used by any journey"

    at = (START + timedelta(hours=1)).isoformat()
    members = httpx.get(
        f"{base_url}/v1/segments/high_value/members", params={"at": at}, headers=ADMIN
    ).json()
    assert sorted(m["profile_id"] for m in members) == ["u0", "u1", "u2"]
    before = (START - timedelta(hours=1)).isoformat()
    history = httpx.get(
        f"{base_url}/v1/segments/high_value/history",
        params={"from": before, "to": at, "step": "1h"},
        headers=ADMIN,
    ).json()
    assert [p["size"] for p in history] == [0, 3, 3]
    versions = httpx.get(f"{base_url}/v1/segments/high_value/versions", headers=ADMIN).json()
    assert [v["version"] for v in versions] == [1]

    condition = {
        "type": "aggregate",
        "event": "Order Completed",
        "function": "sum",
        "property": "revenue",
        "op": "gte",
        "value": 300,
    }
    answer = httpx.post(
        f"{base_url}/v1/segments/preview", json={"condition": condition}, headers=ADMIN
    ).json()
    assert answer["size"] == 3
    assert [p["profile_id"] for p in answer["sample"]] == ["u0", "u1", "u2"]
    assert "fewer than 100" in answer["warning"]

    bad = httpx.post(
        f"{base_url}/v1/segments/preview",
        json={"condition": {**condition, "function": "median"}},
        headers=ADMIN,
    )
    assert bad.status_code == 400 and "condition.aggregate.function" in bad.text
    unknown = httpx.post(
        f"{base_url}/v1/segments/preview",
        json={"condition": {"type": "in_segment", "segment": "ghost"}},
        headers=ADMIN,
    )
    assert unknown.status_code == 400 and "ghost" in unknown.text
    too_many = httpx.get(
        f"{base_url}/v1/segments/high_value/history", params={"step": "1m"}, headers=ADMIN
    )
    assert too_many.status_code == 400
