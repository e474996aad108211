"""Signing in to the dashboard with an admin key, and out again (see `session`).

The cookie is HttpOnly (no script can read it), SameSite=Strict (no other site's page or
form sends it), Secure when the dashboard is served over HTTPS, and lasts `LIFETIME`. A POST
that changes something carries the session's CSRF token; the login form itself, which has
no session yet, is refused when the browser says it comes from another site.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from pertinent.api.auth import KeyRing
from pertinent.app import System
from pertinent.config import key_hash
from pertinent.web.render import Chrome, LoginRequired, PageRoute, error_page, page
from pertinent.web.session import COOKIE, LIFETIME, SessionSigner

MAX_FORM_BYTES = 2048  # a key and a path


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form's fields (the first value of each), read up to a small size."""
    body = await request.body()
    fields = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"))
    return {name: values[0] for name, values in fields.items()}


def local_path(target: str | None) -> str:
    """Where to go after signing in: a path on this dashboard, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def cross_site(request: Request) -> bool:
    """Whether the browser says the request comes from another site's page."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin is not None and origin != "null" and origin != own


@dataclass(eq=False)  # hashable by identity: FastAPI caches dependencies by it
class Access:
    """Checks a request's session (the dependency every page takes) and gives sessions out."""

    system: System

    def __post_init__(self) -> None:
        settings = self.system.workspace.settings
        self.signer = SessionSigner(settings.secret)
        self.keys = KeyRing.from_settings(settings.keys)
        self.names = {k.hash: k.name or "admin" for k in settings.keys.admin}

    def chrome(self, request: Request) -> Chrome | None:
        cookie = request.cookies.get(COOKIE)
        found = self.signer.verify(cookie, self.keys.admin, self.system.clock.now())
        if found is None:
            return None
        return Chrome(user=found.name, csrf=self.signer.csrf_token(found))

    async def __call__(self, request: Request) -> Chrome:
        found = self.chrome(request)
        if found is None:
            query = f"?{request.url.query}" if request.url.query else ""
            raise LoginRequired(request.url.path + query)
        return found


def build_router(access: Access) -> APIRouter:
    router = APIRouter(route_class=PageRoute)

    def login_page(target: str, problem: str | None = None, status: int = 200) -> HTMLResponse:
        return page("login", "Sign in", Chrome(), code=status, target=target, problem=problem)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, target: str = Query("/", alias="next")) -> Response:
        if access.chrome(request) is not None:
            return RedirectResponse(local_path(target), status_code=303)
        return login_page(local_path(target))

    @router.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        if cross_site(request):
            return error_page(
                403,
                "This sign-in came from another site's page.",
                None,
                "Open the dashboard's own sign-in page and enter the key there.",
            )
        fields = await form(request)
        target = local_path(fields.get("next"))
        key = fields.get("key", "").strip()
        if not key or not access.keys.is_admin(key):
            problem = (
                "That is not an admin key of this workspace. `pertinent init` and "
                "`pertinent keys new` show a key once; the workspace keeps only its hash."
            )
            return login_page(target, problem, status=401)
        stored = key_hash(key)
        now = access.system.clock.now()
        answer = RedirectResponse(target, status_code=303)
        answer.set_cookie(
            COOKIE,
            access.signer.issue(stored, access.names.get(stored, "admin"), now),
            max_age=int(LIFETIME.total_seconds()),
            path="/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return answer

    @router.post("/logout", response_class=HTMLResponse)
    async def logout(request: Request, chrome: Chrome = Depends(access)) -> Response:
        fields = await form(request)
        if not hmac.compare_digest(fields.get("csrf", ""), chrome.csrf) or cross_site(request):
            return error_page(
                403,
                "This sign-out did not come from the dashboard's own page.",
                None,
                "Use the Sign out button at the top of a dashboard page.",
            )
        answer = RedirectResponse("/login", status_code=303)
        answer.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return answer

    return router
