"""Webhook steps against a real HTTP server started by the test: signed JSON, retries with
backoff on the simulated clock, every attempt readable through the API."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from apitools import ADMIN
from conftest import START
from server import serving

from pertinent.api.app import create_app
from pertinent.app import build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace

SECRET = "hook-secret-for-tests"


class Receiver:
    """An HTTP endpoint that answers 500 to the first `failures` calls, then 204."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                failing = len(receiver.calls) <= receiver.failures
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(failures=2)
    yield found
    found.close()


def _workspace(root: Path, url: str) -> Path:
    settings = yaml.safe_load((root / "pertinent.yaml").read_text())
    settings["journeys"]["webhooks"] = {"secret": SECRET, "retry_seconds": 30}
    (root / "pertinent.yaml").write_text(yaml.safe_dump(settings))
    (root / "journeys" / "crm.yaml").write_text(
        yaml.safe_dump(
            {
                "key": "crm_signup",
                "trigger": {"type": "event", "event": "Signed Up"},
                "steps": [
                    {"id": "tell_crm", "type": "webhook", "url": url, "headers": {"X-Team": "crm"}}
                ],
            }
        )
    )
    return root


def test_a_webhook_is_signed_retried_with_backoff_and_logged(
    workspace: Path, receiver: Receiver
) -> None:
    clock = SimClock(START)
    system = build_system(load_workspace(_workspace(workspace, receiver.url)), clock=clock)
    try:
        system.ingestor.ingest(
            [
                {"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}},
                {"type": "track", "event": "Signed Up", "userId": "u1"},
            ]
        )
        system.run_until_idle()
        assert len(receiver.calls) == 1, "tried at once, failed"
        clock.advance(timedelta(seconds=29))
        system.run_until_idle()
        assert len(receiver.calls) == 1, "the first retry waits 30 s"
        clock.advance(timedelta(seconds=1))
        system.run_until_idle()
        clock.advance(timedelta(seconds=60))
        system.run_until_idle()
        clock.advance(timedelta(hours=2))
        system.run_until_idle()
        assert len(receiver.calls) == 3, "two failures, then delivered, then nothing more"

        headers, body = receiver.calls[-1]
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Pertinent-Signature"] == expected
        assert headers["X-Team"] == "crm"
        payload = json.loads(body)
        assert payload["journey"] == "crm_signup" and payload["step"] == "tell_crm"
        assert payload["person"]["traits"]["email"] == "ann@example.com"
        assert {b for _h, b in receiver.calls} == {body}, "the same body each time"

        with serving(create_app(system)) as base:
            log = httpx.get(f"{base}/v1/journeys/crm_signup/webhooks", headers=ADMIN).json()
            numbers = httpx.get(f"{base}/v1/journeys/crm_signup", headers=ADMIN).json()
        [delivery] = log
        assert delivery["status"] == "delivered"
        assert [(a["attempt"], a["status_code"]) for a in delivery["attempts"]] == [
            (3, 204),
            (2, 500),
            (1, 500),
        ]
        [step] = numbers["versions"][0]["steps"]
        assert step["numbers"]["webhook"] == 1 and step["numbers"]["entered"] == 1
    finally:
        system.close()


def test_a_webhook_that_never_succeeds_stops_after_its_attempts(workspace: Path) -> None:
    clock = SimClock(START)
    root = _workspace(workspace, "http://127.0.0.1:1/nobody-listens")
    settings = yaml.safe_load((root / "pertinent.yaml").read_text())
    settings["journeys"]["webhooks"]["max_attempts"] = 3
    (root / "pertinent.yaml").write_text(yaml.safe_dump(settings))
    system = build_system(load_workspace(root), clock=clock)
    try:
        system.ingestor.ingest([{"type": "track", "event": "Signed Up", "userId": "u1"}])
        for _ in range(6):
            system.run_until_idle()
            clock.advance(timedelta(hours=1))
        [delivery] = system.storage.reads.webhook_deliveries(None, 10)
        assert delivery.status == "failed"
        assert [a.number for a in delivery.attempts] == [3, 2, 1]
        assert all(a.error and a.status_code is None for a in delivery.attempts)
    finally:
        system.close()
