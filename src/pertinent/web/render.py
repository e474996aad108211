"""How a dashboard page becomes a response: its Liquid template inside the layout, with the
headers every page carries, and errors as pages that say what to do.

Pages are Liquid (the engine emails use, so the project has one template language), with
autoescape on: every value from data is text. The pages run no script; the
Content-Security-Policy says so, and allows styles from the dashboard's stylesheet only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from liquid import BoundTemplate, Environment
from markupsafe import Markup

from pertinent.errors import InputError, NotFoundError, PertinentError

log = logging.getLogger("pertinent.web")
_ENV = Environment(autoescape=True)

SECTIONS = [
    ("/", "Overview"),
    ("/events", "Live events"),
    ("/profiles", "Profiles"),
    ("/segments", "Segments"),
    ("/journeys", "Journeys"),
    ("/experiments", "Experiments"),
    ("/recommendations", "Recommendations"),
    ("/templates", "Templates"),
    ("/quality", "Data quality"),
    ("/emails", "Outbox"),
]
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; frame-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Chrome:
    """What the layout shows of the session: who is signed in, and the token its sign-out
    form (and any other form that changes something) carries."""

    user: str | None = None  # None: nobody is signed in (the login and error pages)
    csrf: str = ""


class LoginRequired(Exception):
    """The request has no valid session: it goes to the login form, and back after."""

    def __init__(self, target: str):
        super().__init__(target)
        self.target = target


@cache
def _template(name: str) -> BoundTemplate:
    folder = resources.files("pertinent.web") / "templates"
    return _ENV.from_string((folder / f"{name}.liquid").read_text(encoding="utf-8"))


def stylesheet() -> str:
    return (resources.files("pertinent.web") / "templates" / "dashboard.css").read_text("utf-8")


def page(
    template: str,
    title: str,
    chrome: Chrome,
    /,
    *,
    section: str = "",
    code: int = 200,
    refresh: int | None = None,
    **data: Any,
) -> HTMLResponse:
    """The page `template` in the layout. `section` marks the navigation's current entry;
    `refresh` reloads the page every so many seconds (the live events). Liquid reads
    mappings and lists, so `data` is made of those (and markup), not of dataclasses."""
    body = Markup(_template(template).render(**data))
    sections = [{"href": h, "name": n, "current": h == section} for h, n in SECTIONS]
    html = _template("layout").render(
        title=title, content=body, chrome=asdict(chrome), sections=sections, refresh=refresh
    )
    return HTMLResponse(html, status_code=code, headers=HEADERS)


def error_page(status: int, message: str, where: str | None, hint: str | None) -> HTMLResponse:
    return page(
        "error",
        "Error" if status >= 500 else "Not found" if status == 404 else "Cannot show this",
        Chrome(),
        code=status,
        message=message,
        where=where,
        hint=hint,
    )


def email_html(html: str, *, images: bool) -> HTMLResponse:
    """A stored or previewed email, for an `<iframe>` of the dashboard: sandboxed (no
    script, an origin of its own), and without images unless `images` (a sent email's open
    pixel would count the dashboard looking at it as an open)."""
    img = "img-src http: https: data:" if images else "img-src data:"
    headers = {
        "Content-Security-Policy": (
            f"sandbox; default-src 'none'; style-src 'unsafe-inline'; {img}; frame-ancestors 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return HTMLResponse(html, headers=headers)


def _status(exc: PertinentError) -> int:
    return 404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, InputError) else 422


class PageRoute(APIRoute):
    """A dashboard route: without a session it sends the browser to the login form; a
    Pertinent error or bad input is a page saying what is wrong, never JSON or a traceback."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                query = urlencode({"next": exc.target})
                return RedirectResponse(f"/login?{query}", status_code=303)
            except PertinentError as exc:
                return error_page(_status(exc), exc.message, exc.where, exc.hint)
            except RequestValidationError as exc:
                first = exc.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ()))
                return error_page(400, str(first.get("msg", "invalid request")), where, None)
            except Exception:
                log.exception("dashboard page %s failed", request.url.path)
                return error_page(
                    500,
                    "Something went wrong on our side.",
                    None,
                    "The server log has the details; try again, or report it.",
                )

        return run
