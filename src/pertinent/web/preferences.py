"""The pages a person reaches from an email: the preference centre (`/p/{token}`), the
confirmation of a sign-up (`/p/{token}/confirm`) and unsubscribe (`/t/u/{token}`).

Links and forms are relative, so the pages work under whatever address serves them.
A GET only shows a page with buttons (mail scanners follow links, and must change nothing);
a POST changes what the person gets. `POST /t/u/{token}` is also the RFC 8058 one-click
target of the `List-Unsubscribe-Post` header: it leaves the email's topic (everything, for an
email without one, or with `?everything=1`). The token names the email; the changes are
`privacy.preferences`'.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from liquid import BoundTemplate, Environment
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from pertinent.app import System
from pertinent.content.links import system_url
from pertinent.privacy.consent import EVERY_TOPIC, ConsentPolicy
from pertinent.privacy.preferences import (
    Preferences,
    confirm,
    pending_topics,
    preferences,
    save_preferences,
    unsubscribe,
)
from pertinent.tracking.tokens import InvalidToken, Purpose

_ENV = Environment(autoescape=True)
MAX_FORM_BYTES = 4096  # a few topics' worth of checkboxes


@cache
def _template(name: str) -> BoundTemplate:
    folder = resources.files("pertinent.web") / "templates"
    return _ENV.from_string((folder / f"person_{name}.liquid").read_text(encoding="utf-8"))


def _page(name: str, title: str, status: int = 200, **data: Any) -> HTMLResponse:
    body = Markup(_template(name).render(**data))
    html = _template("layout").render(title=title, content=body)
    # The token in the address is the key to the person's choices: keep it out of Referer
    # headers and shared caches.
    headers = {"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
    return HTMLResponse(html, status_code=status, headers=headers)


def _gone() -> HTMLResponse:
    """An altered or truncated token."""
    return _page("gone", "Link not valid", status=404)


def _forgotten() -> HTMLResponse:
    """A genuine link to an email Pertinent no longer holds (its person was erased): there
    is nothing left to change, and a one-click unsubscribe must still get its 2xx."""
    return _page("gone", "Nothing more to do", forgotten=True)


async def _form(request: Request) -> dict[str, list[str]]:
    body = await request.body()
    return parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"))


def build_router(system: System) -> APIRouter:
    router = APIRouter(tags=["preferences"], include_in_schema=False)
    policy = ConsentPolicy(system.workspace.settings.consent)
    storage = system.storage

    def message_of(purpose: Purpose, token: str) -> str | None:
        try:
            return system.tokens.open(purpose, token).message_id
        except InvalidToken:
            return None

    def topic_name(topic: str | None) -> str | None:
        found = policy.settings.topics.get(topic) if topic else None
        return found.name if found is not None else None

    def names(topics: list[str]) -> str:
        return ", ".join(topic_name(t) or t for t in topics)

    def centre(token: str, shown: Preferences, notice: str | None = None) -> HTMLResponse:
        topics = [
            {
                "key": key,
                "name": topic.name,
                "description": topic.description,
                "on": shown.statuses.get(key) == "opted_in",
                "pending": shown.statuses.get(key) == "pending",
            }
            for key, topic in policy.settings.topics.items()
        ]
        return _page(
            "preferences",
            "Email preferences",
            address=shown.address,
            topics=topics,
            everything_off=shown.everything_off,
            notice=notice,
        )

    @router.get("/p/{token}", response_class=HTMLResponse)
    async def preference_centre(token: str) -> HTMLResponse:
        message_id = message_of("preferences", token)
        if message_id is None:
            return _gone()
        shown = await run_in_threadpool(preferences, storage, policy, message_id)
        return centre(token, shown) if shown is not None else _forgotten()

    @router.post("/p/{token}", response_class=HTMLResponse)
    async def change_preferences(token: str, request: Request) -> HTMLResponse:
        message_id = message_of("preferences", token)
        if message_id is None:
            return _gone()
        form = await _form(request)
        now = system.clock.now()
        if form.get("action") == ["unsubscribe_all"]:
            notice = "You are unsubscribed from everything."
            await run_in_threadpool(unsubscribe, storage, policy, message_id, now, everything=True)
        else:
            notice = "Your preferences are saved."
            chosen = set(form.get("topic", []))
            await run_in_threadpool(save_preferences, storage, policy, message_id, chosen, now)
        shown = await run_in_threadpool(preferences, storage, policy, message_id)
        return centre(token, shown, notice) if shown is not None else _forgotten()

    def confirmation(token: str, message_id: str, confirmed: list[str]) -> HTMLResponse:
        waiting = pending_topics(storage, policy, message_id)
        if waiting is None:
            return _forgotten()
        address, topics = waiting
        return _page(
            "confirm",
            "Confirm your subscription",
            address=address,
            topics=[topic_name(t) or t for t in topics],
            confirmed=names(confirmed) or None,
            preferences=f"../{token}",
        )

    @router.get("/p/{token}/confirm", response_class=HTMLResponse)
    async def confirmation_page(token: str) -> HTMLResponse:
        message_id = message_of("preferences", token)
        if message_id is None:
            return _gone()
        return await run_in_threadpool(confirmation, token, message_id, [])

    @router.post("/p/{token}/confirm", response_class=HTMLResponse)
    async def confirm_sign_up(token: str) -> HTMLResponse:
        message_id = message_of("preferences", token)
        if message_id is None:
            return _gone()
        now = system.clock.now()
        confirmed = await run_in_threadpool(confirm, storage, policy, message_id, now)
        return await run_in_threadpool(confirmation, token, message_id, confirmed)

    def unsubscribe_page(token: str, message_id: str, done: str | None) -> HTMLResponse:
        shown = preferences(storage, policy, message_id)
        if shown is None:
            return _forgotten()
        return _page(
            "unsubscribe",
            "Unsubscribe",
            address=shown.address,
            topic_name=topic_name(shown.topic),
            done=done,
            preferences=system_url(
                "../..",
                "preferences",
                system.tokens.seal("preferences", message_id, system.clock.now().date()),
            ),
        )

    @router.get("/t/u/{token}", response_class=HTMLResponse, summary="Unsubscribe page")
    async def unsubscribe_question(token: str) -> HTMLResponse:
        message_id = message_of("unsubscribe", token)
        if message_id is None:
            return _gone()
        return await run_in_threadpool(unsubscribe_page, token, message_id, None)

    @router.post("/t/u/{token}", response_class=HTMLResponse, summary="Unsubscribe (RFC 8058)")
    async def unsubscribe_now(token: str, everything: bool = False) -> HTMLResponse:
        message_id = message_of("unsubscribe", token)
        if message_id is None:
            return _gone()
        now = system.clock.now()
        left = await run_in_threadpool(
            unsubscribe, storage, policy, message_id, now, everything=everything
        )
        if left is None:
            return _forgotten()
        what = "everything" if left == EVERY_TOPIC else f"{topic_name(left) or left} emails"
        done = f"You are unsubscribed from {what}."
        return await run_in_threadpool(unsubscribe_page, token, message_id, done)

    return router
