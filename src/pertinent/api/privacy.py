"""Consent and a person's data over HTTP: sign-ups (write key), and consent and export for
the shop (admin key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from pertinent.api.auth import KeyRing, admin_key_dependency, require_write_key
from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.privacy.consent import EVERY_TOPIC, ConsentPolicy, ConsentStatus
from pertinent.privacy.export import export_person
from pertinent.privacy.preferences import set_consent
from pertinent.privacy.signup import SignUp, sign_up


class SignUpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    userId: str | None = Field(default=None, min_length=1, max_length=512)
    anonymousId: str | None = Field(default=None, min_length=1, max_length=512)
    email: str | None = Field(default=None, max_length=512)
    topics: list[str] = Field(min_length=1, max_length=64)


class Topics(BaseModel):
    topics: dict[str, ConsentStatus]


class ConsentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    topics: dict[str, ConsentStatus] = Field(
        description=f"topic -> opted_in | opted_out | pending; {EVERY_TOPIC!r}: every topic"
    )


class ConsentChangeOut(BaseModel):
    topic: str
    status: ConsentStatus
    at: str
    source: str
    address: str | None


class ConsentOut(BaseModel):
    topics: dict[str, ConsentStatus]
    unsubscribed_from_everything: bool
    history: list[ConsentChangeOut]


def build_router(system: System) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["consent"])
    keys = KeyRing.from_settings(system.workspace.settings.keys)
    policy = ConsentPolicy(system.workspace.settings.consent)
    admin = [Depends(admin_key_dependency(keys))]
    reads = system.storage.reads

    def find(user_id: str) -> str:
        pid = reads.find(user_id)
        if pid is None:
            raise NotFoundError(f"no profile for {user_id!r}", where="user_id")
        return pid

    def consent_of(pid: str) -> ConsentOut:
        with system.storage.snapshot() as tx:
            history = tx.consent.history([pid])
        return ConsentOut(
            topics=policy.statuses(history),
            unsubscribed_from_everything=policy.status(history, EVERY_TOPIC) == "opted_out",
            history=[
                ConsentChangeOut(
                    topic=c.topic,
                    status=c.status,
                    at=c.at.isoformat(),
                    source=c.source,
                    address=c.address,
                )
                for c in history
            ],
        )

    @router.post("/subscribe", response_model=Topics, summary="Sign up for topics")
    async def subscribe(body: SignUpBody, request: Request) -> Topics:
        """With a write key. Double opt-in (always for a browser key): the topics wait as
        `pending` until the confirmation email's button is clicked."""
        side = require_write_key(request, keys)
        request_ = SignUp(body.topics, body.userId, body.anonymousId, body.email)
        statuses = await run_in_threadpool(
            sign_up,
            system.storage,
            policy,
            request_,
            browser_key=side == "browser",
            now=system.clock.now(),
        )
        return Topics(topics=statuses)

    @router.get("/profiles/{user_id}/consent", response_model=ConsentOut, dependencies=admin)
    def consent(user_id: str) -> ConsentOut:
        return consent_of(find(user_id))

    @router.put("/profiles/{user_id}/consent", response_model=ConsentOut, dependencies=admin)
    def change_consent(user_id: str, body: ConsentBody) -> ConsentOut:
        pid = find(user_id)
        set_consent(system.storage, policy, pid, body.topics, "admin", system.clock.now())
        return consent_of(pid)

    @router.get("/profiles/{user_id}/export", dependencies=admin, summary="Everything held")
    def export(user_id: str) -> dict[str, Any]:
        """The profile, every event, segment memberships, journeys, emails with their
        content, consent history, suppressed addresses: everything held on the person."""
        return export_person(system.storage, policy, user_id, system.clock.now())

    return router
