"""Webhook steps: a JSON POST of the person and the step, signed, retried, every attempt kept.

The journeys phase never does HTTP: a webhook step enqueues a `WebhookCall` in the same
transaction as the step, keyed per person, journey step and entry (a replay enqueues
nothing twice). The sender process delivers due calls (`WebhookSender`), each attempt
recorded in the delivery log with its status code or error and how long it took; a call
that fails is retried after 30 s, 60 s, 120 s ... (capped at an hour) up to `max_attempts`.

The body is signed with HMAC-SHA256 under `journeys.webhooks.secret`; the receiver checks
`X-Pertinent-Signature: sha256=<hex of HMAC(secret, raw body)>` before trusting it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson

from pertinent.clock import Clock, monotonic
from pertinent.journeys.settings import WebhookSettings
from pertinent.storage.ports import Storage

log = logging.getLogger("pertinent.webhooks")
LEASE = timedelta(minutes=5)
SIGNATURE_HEADER = "X-Pertinent-Signature"


@dataclass(frozen=True)
class WebhookCall:
    idempotency_key: str
    journey_key: str
    step: str
    profile_id: str
    url: str
    body: str
    created_at: datetime
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PendingCall:
    id: int
    attempts: int
    call: WebhookCall


@dataclass(frozen=True)
class Attempt:
    """One try at a call, as the delivery log keeps it."""

    delivery_id: int
    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True)
class Delivery:
    """A call with where it stands, for the API."""

    id: int
    call: WebhookCall
    status: str  # pending | sending | delivered | failed
    attempts: list[Attempt]


def call_key(journey_key: str, step: str, profile_id: str, entry: str) -> str:
    """Per person, journey step and entry, like a send's idempotency key."""
    text = f"{journey_key}\x1f{step}\x1f{profile_id}\x1f{entry}"
    return "w:" + hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def encode(payload: Mapping[str, Any]) -> str:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int, base: timedelta) -> timedelta:
    later: timedelta = base * 2 ** max(attempts - 1, 0)
    return min(later, timedelta(hours=1))


class WebhookSender:
    """Delivers due webhook calls; runs in the sender process beside the email sender."""

    def __init__(
        self, storage: Storage, clock: Clock, settings: WebhookSettings, *, owner: str
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._settings = settings
        self.owner = owner

    def _claim(self, limit: int) -> list[PendingCall]:
        with self._storage.snapshot() as tx:
            first = tx.webhooks.next_due()
        if first is None or first > self._clock.now():
            return []
        with self._storage.transaction() as tx:
            return tx.webhooks.claim(self._clock.now(), LEASE, limit, self.owner)

    async def deliver_due(self, limit: int = 50) -> int:
        """Try each due call once; return how many were tried."""
        import asyncio

        due = await asyncio.to_thread(self._claim, limit)
        if not due:
            return 0
        async with httpx.AsyncClient(timeout=self._settings.timeout_seconds) as client:
            for pending in due:
                attempt = await self._try(client, pending)
                await asyncio.to_thread(self._record, pending, attempt)
        return len(due)

    async def _try(self, client: httpx.AsyncClient, pending: PendingCall) -> Attempt:
        call = pending.call
        body = call.body.encode()
        headers = {
            **call.headers,
            "Content-Type": "application/json",
            "User-Agent": "Pertinent-Webhooks/1",
            "X-Pertinent-Delivery": call.idempotency_key,
            SIGNATURE_HEADER: signature(self._settings.secret, body),
        }
        started = monotonic()
        at = self._clock.now()
        status: int | None = None
        error: str | None = None
        try:
            answer = await client.post(call.url, content=body, headers=headers)
            status = answer.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except ValueError as exc:  # a URL httpx refuses
            error = f"bad URL: {exc}"[:500]
        took = int((monotonic() - started) * 1000)
        return Attempt(pending.id, pending.attempts + 1, at, status, error, took)

    def _record(self, pending: PendingCall, attempt: Attempt) -> None:
        if attempt.error is None:
            status, next_at = "delivered", None
        elif attempt.number >= self._settings.max_attempts:
            status, next_at = "failed", None
            log.warning("webhook %s failed for good: %s", pending.call.url, attempt.error)
        else:
            base = timedelta(seconds=self._settings.retry_seconds)
            status, next_at = "pending", attempt.at + backoff(attempt.number, base)
        with self._storage.transaction() as tx:
            tx.webhooks.record(attempt, status, next_at)
