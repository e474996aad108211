"""Hostile and ordinary HTTP against the Segment-compatible ingestion API."""

from __future__ import annotations

import base64
import gzip
import json
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from itertools import chain, repeat

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
    [tracked] = [e for e in events if e["name"] == "E"]  # (segment entries are events too)
    assert tracked["timestamp"] == "2026-03-02T08:59:00+00:00"
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


def _gzip_stream(parts: Iterator[bytes]) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return b"".join([*(packer.compress(p) for p in parts), packer.flush()])


def test_a_gzipped_batch_is_read_like_a_plain_one(base_url: str, system: System) -> None:
    batch = {"batch": [{"type": "track", "userId": "u1", "event": "E", "messageId": "z1"}]}
    # Two gzip members and zero padding, as gzip.decompress (and so Segment's clients) allow.
    body = orjson.dumps(batch)
    content = gzip.compress(body[:10]) + gzip.compress(body[10:]) + b"\0\0"
    headers = {"content-encoding": "gzip", "content-type": "application/json"}
    answer = httpx.post(f"{base_url}/v1/batch", content=content, auth=AUTH, headers=headers)
    assert answer.json()["accepted"] == 1
    broken = httpx.post(f"{base_url}/v1/batch", content=content[:-20], auth=AUTH, headers=headers)
    assert (broken.status_code, broken.json()["error"]) == (400, "body is not valid gzip")
    assert _events(system) == ["z1"]


def _peak_bytes_while(send: Callable[[], httpx.Response]) -> tuple[httpx.Response, int]:
    """The answer, and the most memory Python held at once (client and server) while sending."""
    tracemalloc.start()
    try:
        answer = send()
        return answer, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_gzip_bomb_is_refused_at_the_limit_without_inflating_it(
    base_url: str, system: System
) -> None:
    event = b'{"type": "track", "userId": "u1", "event": "E", "properties": {"p": 1}},'
    bomb = _gzip_stream(
        chain([b'{"batch": ['], repeat(event * 14_000, 50), [b'{"type": "track"}]}'])
    )  # 50 MB of events in 170 KB
    headers = {"content-encoding": "gzip", "content-type": "application/json"}

    answer, peak = _peak_bytes_while(
        lambda: httpx.post(f"{base_url}/v1/batch", content=bomb, auth=AUTH, headers=headers)
    )

    assert answer.status_code == 400
    assert "the limit is 500 KB per batch" in answer.json()["error"]
    assert peak < 8_000_000
    assert _events(system) == []


def test_a_huge_body_is_refused_without_reading_it_all(base_url: str, system: System) -> None:
    def body() -> Iterator[bytes]:  # chunked: the server cannot know the size up front
        yield b'{"batch": ['
        for _ in range(800):
            yield b'{"type": "track", "userId": "u1", "event": "E"},' * 1000

    answer, peak = _peak_bytes_while(
        lambda: httpx.post(f"{base_url}/v1/batch", content=body(), auth=AUTH, timeout=30)
    )

    assert answer.status_code == 400
    assert "the limit is 500 KB per batch" in answer.json()["error"]
    assert peak < 8_000_000
    assert _events(system) == []


def test_the_answer_says_which_events_were_flagged_and_why(base_url: str, system: System) -> None:
    googlebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    batch = {
        "batch": [
            {"type": "page", "anonymousId": "a1", "context": {"userAgent": googlebot}},
            {"type": "page", "anonymousId": "a2", "context": {"userAgent": "curl/8.4.0"}},
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": "u1",
                "timestamp": "2031-01-01T00:00:00Z",
            },
        ]
    }
    answer = httpx.post(f"{base_url}/v1/batch", json=batch, auth=AUTH).json()

    assert (answer["accepted"], answer["rejected"]) == (3, [])
    assert answer["flagged"] == {"bot": 1, "future_timestamp": 1}
    assert [(f["index"], f["kind"], f["field"]) for f in answer["flags"]] == [
        (0, "bot", "/context/userAgent"),
        (2, "future_timestamp", "/timestamp"),
    ]
    with system.storage.snapshot() as tx:
        stored = [e.event for e in tx.log.read_after(0, 10)]
    assert [e.is_bot for e in stored] == [True, False, False]
    assert stored[2].timestamp == system.clock.now(), "moved back from 2031 to its arrival"
    assert [f.kind for f in stored[2].flags] == ["future_timestamp"]


def test_dates_and_nesting_that_used_to_be_a_500_are_a_400_naming_the_field(
    base_url: str, system: System
) -> None:
    deep: object = "x"
    for _ in range(300):
        deep = {"a": deep}
    year_9999 = {"userId": "u1", "event": "E", "timestamp": "9999-12-31T23:59:59-05:00"}
    year_1 = {"userId": "u1", "event": "E", "timestamp": "0001-01-01T00:00:00Z"}
    nested = {"userId": "u1", "event": "E", "properties": deep}
    body = json.dumps(nested).encode()  # deeper than orjson (or httpx's json=) will write
    key = f', "writeKey": "{WRITE_KEY}"}}'.encode()

    answers = [
        httpx.post(f"{base_url}/v1/track", json=year_9999, auth=AUTH),
        httpx.post(
            f"{base_url}/v1/track", json={**year_1, "sentAt": "0001-01-01T00:01:00Z"}, auth=AUTH
        ),
        httpx.post(f"{base_url}/v1/track", content=body, auth=AUTH),
        httpx.get(
            f"{base_url}/v1/pixel/track",
            params={"data": base64.b64encode(body[:-1] + key).decode()},
        ),
    ]

    assert [(a.status_code, a.json()["where"]) for a in answers] == [
        (400, "timestamp"),
        (400, "timestamp"),
        (400, "properties"),
        (400, "properties"),
    ]
    good = {"type": "track", "userId": "u1", "event": "Good", "messageId": "good"}
    batch = {"batch": [{**year_9999, "type": "track"}, good, {**nested, "type": "track"}]}
    kept = httpx.post(f"{base_url}/v1/batch", content=json.dumps(batch), auth=AUTH).json()
    assert [r["index"] for r in kept["rejected"]] == [0, 2]
    assert _events(system) == ["good"]
