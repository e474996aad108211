"""Hostile and ordinary HTTP against the Segment-compatible ingestion API."""

from __future__ import annotations

import base64

import httpx
import orjson
from apitools import ADMIN, WRITE_KEY, settle

from pertinent.app import System

AUTH = (WRITE_KEY, "")


def _events(system: System) -> list[str]:
    with system.storage.snapshot() as tx:
        return [e.event.message_id for e in tx.log.read_after(0, 10_000)]


def test_missing_or_wrong_write_key_is_401_and_nothing_is_kept(
    base_url: str, system: System
) -> None:
    body = {"userId": "u1", "event": "E", "messageId": "m1"}
    assert httpx.post(f"{base_url}/v1/track", json=body).status_code == 401
    wrong = httpx.post(f"{base_url}/v1/track", json=body, auth=("nope", ""))
    assert wrong.status_code == 401
    assert "write key" in wrong.json()["error"]
    assert _events(system) == []


def test_malformed_json_is_400(base_url: str) -> None:
    answer = httpx.post(
        f"{base_url}/v1/batch",
        content=b'{"batch": [',
        auth=AUTH,
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert "malformed JSON" in answer.json()["error"]


def test_oversized_event_and_batch_are_400_naming_the_limit(base_url: str) -> None:
    big = {"userId": "u1", "event": "E", "properties": {"blob": "x" * 33_000}}
    one = httpx.post(f"{base_url}/v1/track", json=big, auth=AUTH)
    assert one.status_code == 400
    assert "32 KB" in one.json()["error"]
    batch = {
        "batch": [
            {"type": "track", "userId": "u1", "event": "E", "properties": {"blob": "x" * 20_000}}
            for _ in range(30)
        ]
    }
    many = httpx.post(f"{base_url}/v1/batch", json=batch, auth=AUTH)
    assert many.status_code == 400
    assert "500 KB" in many.json()["error"]


def test_a_mixed_batch_keeps_the_good_and_names_each_rejection(
    base_url: str, system: System
) -> None:
    batch = {
        "batch": [
            {"type": "track", "userId": "u1", "event": "Good", "messageId": "g1"},
            {"type": "track", "userId": "u1", "messageId": "b1"},
            {"type": "identify", "messageId": "b2", "traits": {"x": 1}},
            {"type": "track", "userId": "u1", "event": "Good", "messageId": "g2"},
        ]
    }
    answer = httpx.post(f"{base_url}/v1/batch", json=batch, auth=AUTH)
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == 2
    assert [(r["index"], r["field"]) for r in body["rejected"]] == [(1, "event"), (2, "(event)")]
    assert _events(system) == ["g1", "g2"]


def test_a_retried_message_id_is_stored_once(base_url: str, system: System) -> None:
    event = {"userId": "u1", "event": "E", "messageId": "same"}
    first = httpx.post(f"{base_url}/v1/track", json=event, auth=AUTH).json()
    again = httpx.post(f"{base_url}/v1/track", json=event, auth=AUTH).json()
    assert (first["accepted"], again["accepted"], again["duplicates"]) == (1, 0, 1)
    assert _events(system) == ["same"]


def test_a_skewed_client_clock_is_corrected(base_url: str, system: System) -> None:
    # The client's clock runs 2 hours fast; the event happened 1 minute before it was sent.
    now = system.clock.now()
    batch = {
        "sentAt": "2026-03-02T11:00:00Z",
        "batch": [
            {"type": "track", "userId": "u1", "event": "E", "timestamp": "2026-03-02T10:59:00Z"}
        ],
    }
    assert httpx.post(f"{base_url}/v1/batch", json=batch, auth=AUTH).status_code == 200
    settle(system)
    events = httpx.get(f"{base_url}/v1/profiles/u1/events", headers=ADMIN).json()
    assert events[0]["timestamp"] == "2026-03-02T08:59:00+00:00"
    assert now.isoformat() == "2026-03-02T09:00:00+00:00"


def test_the_pixel_api_accepts_base64_json_and_answers_a_gif(base_url: str, system: System) -> None:
    data = base64.b64encode(
        orjson.dumps(
            {
                "writeKey": WRITE_KEY,
                "anonymousId": "a1",
                "event": "Email Viewed",
                "messageId": "px1",
            }
        )
    ).decode()
    answer = httpx.get(
        f"{base_url}/v1/pixel/track",
        params={"data": data},
        headers={"user-agent": "Mozilla/5.0 Firefox/128.0"},
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/gif"
    assert _events(system) == ["px1"]
    bad = httpx.get(f"{base_url}/v1/pixel/track", params={"data": "%%%"})
    assert bad.status_code == 400


def test_admin_api_needs_its_key_and_unknown_profiles_are_404(base_url: str) -> None:
    assert httpx.get(f"{base_url}/v1/status").status_code == 401
    assert (
        httpx.get(f"{base_url}/v1/status", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    status = httpx.get(f"{base_url}/v1/status", headers=ADMIN).json()
    assert status["log_seq"] == status["processed_seq"] == 0
    assert httpx.get(f"{base_url}/v1/profiles/ghost", headers=ADMIN).status_code == 404
