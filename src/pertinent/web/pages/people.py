"""Profiles: a list a page at a time, a search by user or anonymous id, and a person's page
(traits, computed properties, segments, consent, timeline), read as the admin API reads
them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pertinent.app import System
from pertinent.errors import NotFoundError
from pertinent.privacy.consent import EVERY_TOPIC, ConsentPolicy
from pertinent.profiles.computed import with_recency
from pertinent.storage.ports import ProfileView
from pertinent.web.login import Access
from pertinent.web.render import Chrome, PageRoute, page

PAGE = 50
TIMELINE = 100
_SHOWN = 300  # characters of a JSON value shown in a table cell


def shown(value: Any) -> str:
    """A trait or property value as a table cell shows it: text as it is, the rest as JSON."""
    text = value if isinstance(value, str) else orjson.dumps(value, default=str).decode()
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def profile_href(profile_id: str) -> str:
    return f"/profiles/{quote(profile_id, safe='')}"


def _summary(view_id: str, traits: dict[str, Any], last_seen: str) -> dict[str, str]:
    name = " ".join(str(traits[k]) for k in ("first_name", "last_name") if traits.get(k))
    return {
        "id": view_id,
        "href": profile_href(view_id),
        "email": shown(traits.get("email", "")),
        "name": shown(name or traits.get("name", "")),
        "last_seen": last_seen,
    }


def build_router(system: System, access: Access) -> APIRouter:
    router = APIRouter(route_class=PageRoute)
    reads = system.storage.reads
    policy = ConsentPolicy(system.workspace.settings.consent)
    names = {s.key: s.name or s.key for s in system.segments}

    @router.get("/profiles", response_class=HTMLResponse)
    def profiles(
        chrome: Chrome = Depends(access),
        q: str = Query("", max_length=512, description="a user or anonymous id"),
        number: int = Query(1, alias="page", ge=1, le=1_000_000),
    ) -> Response:
        if q and (found := reads.find(q.strip())) is not None:
            return RedirectResponse(profile_href(found), status_code=303)
        ids = reads.profile_ids(PAGE, (number - 1) * PAGE)
        with system.storage.snapshot() as tx:
            states = tx.profiles.load(ids)
        listed = [
            _summary(pid, s.traits, f"{s.last_seen:%Y-%m-%d %H:%M}" if s.last_seen else "")
            for pid in ids
            if (s := states.get(pid)) is not None
        ]
        return page(
            "profiles",
            "Profiles",
            chrome,
            section="/profiles",
            q=q,
            missing=bool(q),
            profiles=listed,
            page=number,
            more=len(ids) == PAGE,
            first=(number - 1) * PAGE + 1,
        )

    def view_of(id_: str) -> ProfileView:
        view = reads.profile(id_)
        if view is None and (pid := reads.find(id_)) is not None:
            view = reads.profile(pid)
        if view is None:
            raise NotFoundError(
                f"no profile for {id_!r}",
                where="profile",
                hint="events are folded into profiles moments after they arrive; look again "
                "soon, or search by another id on the Profiles page",
            )
        return view

    @router.get("/profiles/{id_:path}", response_class=HTMLResponse)
    def profile(id_: str, chrome: Chrome = Depends(access)) -> HTMLResponse:
        view = view_of(id_)
        state, pid = view.state, view.state.profile_id
        with system.storage.snapshot() as tx:
            history = tx.consent.history([pid])
        computed = with_recency(state.computed, system.clock.now())
        timeline = [
            {
                "seq": t.seq,
                "time": f"{t.timestamp:%Y-%m-%d %H:%M:%S}",
                "type": t.event.type,
                "name": t.event.name or "",
                "data": shown(t.event.properties or t.event.traits),
            }
            for t in reads.timeline(pid, TIMELINE)
        ]
        return page(
            "profile",
            f"Profile {pid}",
            chrome,
            section="/profiles",
            pid=pid,
            user_ids=sorted(v for k, v in view.identities if k == "user"),
            anonymous_ids=sorted(v for k, v in view.identities if k == "anon"),
            first_seen=f"{state.first_seen:%Y-%m-%d %H:%M}" if state.first_seen else "",
            last_seen=f"{state.last_seen:%Y-%m-%d %H:%M}" if state.last_seen else "",
            traits=[{"name": k, "value": shown(v)} for k, v in sorted(state.traits.items())],
            computed=[{"name": k, "value": shown(v)} for k, v in sorted(computed.items())],
            segments=[{"key": k, "name": names.get(k, k)} for k in view.segments],
            topics=sorted(policy.statuses(history).items()),
            everything=policy.status(history, EVERY_TOPIC) == "opted_out",
            consent=[
                {
                    "at": f"{c.at:%Y-%m-%d %H:%M}",
                    "topic": c.topic,
                    "status": c.status,
                    "source": c.source,
                }
                for c in history[-20:]
            ],
            timeline=timeline,
        )

    return router
