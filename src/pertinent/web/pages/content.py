"""What goes into emails: templates (list, lint, a preview for a chosen person) and the
recommendation model serving now with the leaderboard it was chosen from."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from pertinent.app import System
from pertinent.content.links import LinkRules
from pertinent.content.lint import lint_template
from pertinent.content.mjml import PerEmailBody
from pertinent.content.preview import Preview
from pertinent.errors import NotFoundError, TemplateError
from pertinent.recommend.catalogue import Product
from pertinent.web.charts.hbars import Bar, hbar_chart
from pertinent.web.login import Access
from pertinent.web.render import Chrome, PageRoute, email_html, page

_PROFILE = Query("", max_length=512, description="a user or anonymous id; empty: nobody")


def _template_row(system: System, name: str) -> dict[str, str]:
    try:
        template = system.templates.get(name)
    except TemplateError as exc:
        return {"name": name, "category": "", "topic": "", "converted": "", "problem": exc.message}
    body = template.body
    return {
        "name": name,
        "category": template.settings.category,
        "topic": template.settings.topic or "",
        "converted": f"per email: {body.reason}" if isinstance(body, PerEmailBody) else "once",
        "problem": "",
    }


def _leaderboard(selection: dict[str, Any]) -> list[Bar]:
    return [
        Bar(
            t["label"],
            t["ndcg"],
            f"{t['ndcg']:.4f}",
            "tone-good" if t["label"] == selection["chosen"] else "tone-main",
        )
        for t in selection["leaderboard"]
        if t["ndcg"] is not None
    ]


def build_router(system: System, access: Access) -> APIRouter:
    router = APIRouter(route_class=PageRoute)
    library = system.templates
    rules = LinkRules.of(system.workspace.settings.content.allowed_link_hosts)

    def known(name: str) -> None:
        if name not in library.names():
            raise NotFoundError(
                f"no template {name!r}", where="name", hint="the Templates page lists them all"
            )

    def products() -> list[Product]:
        with system.storage.snapshot() as tx:
            return list(tx.products.all().values())

    @router.get("/templates", response_class=HTMLResponse)
    def templates(chrome: Chrome = Depends(access)) -> HTMLResponse:
        listed = [_template_row(system, name) for name in library.names()]
        return page("templates", "Templates", chrome, section="/templates", templates=listed)

    @router.get("/templates/{name}", response_class=HTMLResponse)
    def template(
        name: str, chrome: Chrome = Depends(access), profile: str = _PROFILE
    ) -> HTMLResponse:
        known(name)
        problem = None
        preview: Preview | None = None
        try:
            preview = system.previews.preview(name, profile.strip() or None)
        except NotFoundError as exc:
            problem = f"{exc.message}: the preview below is for nobody (every variable missing)."
            preview = system.previews.preview(name, None)
        except TemplateError as exc:
            problem = f"The template does not render: {exc.message} ({exc.where})"
        report = lint_template(system.previews, name, rules, products())
        query = f"?profile={quote(profile.strip(), safe='')}" if profile.strip() else ""
        return page(
            "template",
            f"Template {name}",
            chrome,
            section="/templates",
            name=name,
            profile=profile,
            problem=problem,
            preview=None
            if preview is None
            else {
                "person": preview.profile_id or "nobody (every variable missing)",
                "event": preview.event,
                "subject": preview.email.subject,
                "preheader": preview.email.preheader,
                "text": preview.email.text,
                "links": list(preview.email.links),
                "unlinked": list(preview.email.unlinked),
                "src": f"/templates/{quote(name, safe='')}/html{query}",
            },
            lint={
                "converted": report.converted,
                "profiles": report.profiles,
                "errors": report.errors,
                "findings": [
                    {
                        "severity": f.severity,
                        "check": f.check,
                        "message": f.message,
                        "where": f.where or "",
                    }
                    for f in report.findings
                ],
                "variables": [
                    {
                        "name": v.name,
                        "where": ", ".join(v.where),
                        "fallback": "yes" if v.fallback else "no",
                        "lacking": "" if v.lacking is None else v.lacking,
                    }
                    for v in report.variables
                ],
            },
        )

    @router.get("/templates/{name}/html", response_class=HTMLResponse)
    def template_html(
        name: str, _chrome: Chrome = Depends(access), profile: str = _PROFILE
    ) -> HTMLResponse:
        known(name)
        found = system.previews.preview(name, profile.strip() or None)
        return email_html(found.email.html, images=True)  # a preview's pixel records nothing

    @router.get("/recommendations", response_class=HTMLResponse)
    def recommendations(chrome: Chrome = Depends(access)) -> HTMLResponse:
        service = system.recommendations
        snap = service.current
        selection = snap.selection.as_dict() if snap.selection else None
        bars = _leaderboard(selection) if selection else []
        return page(
            "recommendations",
            "Recommendations",
            chrome,
            section="/recommendations",
            configured=service.settings.model,
            model=snap.model.name,
            version=snap.version,
            selection=selection,
            chart=hbar_chart(bars, "nDCG@10 of each candidate model") if bars else None,
        )

    return router
