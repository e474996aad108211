"""The dashboard, mounted under `/` beside the API: every page behind an admin sign-in.

Pages are Liquid templates rendered on the server with charts as inline SVG; the data comes
from the same part functions and read model the admin API uses, and no logic lives here.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from pertinent.app import System
from pertinent.web import login
from pertinent.web.pages import content, delivery, experiments, journeys, overview, people, segments
from pertinent.web.render import stylesheet


def build_router(system: System) -> APIRouter:
    router = APIRouter(tags=["dashboard"], include_in_schema=False)
    access = login.Access(system)
    css = stylesheet()

    @router.get("/dashboard.css")
    def styles() -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=300"})

    router.include_router(login.build_router(access))
    for area in (overview, people, segments, journeys, experiments, content, delivery):
        router.include_router(area.build_router(system, access))
    return router
