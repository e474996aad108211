"""The templates API (admin key): list, lint, preview for a real person, test send."""

from __future__ import annotations

import uuid
from dataclasses import replace

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from pertinent.api.auth import KeyRing, admin_key_dependency
from pertinent.api.errors import problem
from pertinent.app import System
from pertinent.content.links import LinkRules
from pertinent.content.lint import Finding, LintReport, Variable, lint_template
from pertinent.content.mjml import PerEmailBody
from pertinent.content.preview import Preview
from pertinent.delivery.smtp import DeliveryError
from pertinent.recommend.catalogue import Product


class TemplateInfo(BaseModel):
    name: str
    converted: str = Field(description='"once", or why the body is converted per email')


class FindingOut(BaseModel):
    severity: str
    check: str
    message: str
    where: str | None


class VariableOut(BaseModel):
    name: str
    where: list[str]
    fallback: bool = Field(description="every output has a default or an if around it")
    lacking: int | None = Field(description="profiles without a value (profile variables)")


class LintOut(BaseModel):
    template: str
    converted: str
    profiles: int
    samples: int
    errors: int
    findings: list[FindingOut]
    variables: list[VariableOut]


class PreviewOut(BaseModel):
    template: str
    profile_id: str | None
    event: str | None = Field(description="the person's event used as `event`")
    subject: str
    preheader: str
    html: str
    text: str
    links: list[str]
    unlinked: list[str]


class TestSend(BaseModel):
    to: str = Field(description="the address to send to", max_length=254)
    profile: str | None = Field(default=None, description="render for this person")


class TestSent(BaseModel):
    template: str
    to: str
    message_id: str


def _finding(f: Finding) -> FindingOut:
    return FindingOut(severity=f.severity, check=f.check, message=f.message, where=f.where)


def _variable(v: Variable) -> VariableOut:
    return VariableOut(name=v.name, where=list(v.where), fallback=v.fallback, lacking=v.lacking)


def lint_out(report: LintReport) -> LintOut:
    return LintOut(
        template=report.template,
        converted=report.converted,
        profiles=report.profiles,
        samples=report.samples,
        errors=report.errors,
        findings=[_finding(f) for f in report.findings],
        variables=[_variable(v) for v in report.variables],
    )


def preview_out(preview: Preview) -> PreviewOut:
    email = preview.email
    return PreviewOut(
        template=preview.template,
        profile_id=preview.profile_id,
        event=preview.event,
        subject=email.subject,
        preheader=email.preheader,
        html=email.html,
        text=email.text,
        links=list(email.links),
        unlinked=list(email.unlinked),
    )


def build_router(system: System) -> APIRouter:
    router = APIRouter(
        prefix="/v1/templates",
        tags=["templates"],
        dependencies=[
            Depends(admin_key_dependency(KeyRing.from_settings(system.workspace.settings.keys)))
        ],
    )
    library = system.templates
    rules = LinkRules.of(system.workspace.settings.content.allowed_link_hosts)

    def products() -> list[Product]:
        with system.storage.snapshot() as tx:
            return list(tx.products.all().values())

    @router.get("", response_model=list[TemplateInfo])
    def templates() -> list[TemplateInfo]:
        out = []
        for name in library.names():
            body = library.get(name).body
            converted = f"per email: {body.reason}" if isinstance(body, PerEmailBody) else "once"
            out.append(TemplateInfo(name=name, converted=converted))
        return out

    @router.post("/{name}/lint", response_model=LintOut)
    def lint(name: str) -> LintOut:
        return lint_out(lint_template(system.previews, name, rules, products()))

    @router.get("/{name}/preview", response_model=PreviewOut)
    def preview(
        name: str, profile: str | None = Query(None, description="user or anonymous id")
    ) -> PreviewOut:
        return preview_out(system.previews.preview(name, profile))

    @router.post("/{name}/test", response_model=TestSent)
    async def test(name: str, request: TestSend) -> TestSent | JSONResponse:
        """Send the template (for `profile`, or with every variable missing) to `to`,
        through the same SMTP path as every email; the subject starts with "[test]"."""
        found = await run_in_threadpool(system.previews.preview, name, request.profile)
        email = replace(found.email, subject=f"[test] {found.email.subject}")
        message_id = uuid.uuid4().hex  # a test is its own message, never a duplicate
        try:
            await system.sender.send_now(email, request.to, message_id)
        except DeliveryError as exc:
            return problem(502, f"the mail server did not take it: {exc.message}")
        return TestSent(template=name, to=request.to, message_id=message_id)

    return router
