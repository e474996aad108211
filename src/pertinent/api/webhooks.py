"""ESP webhooks: bounces and complaints that Amazon SES (through SNS), SendGrid and Postmark
post. Each ESP proves itself its own way (an SNS signature, an ECDSA signature, HTTP Basic);
an endpoint the workspace did not configure answers 404. What a request reports goes into
the log and the suppression list through `delivery.feedback.record_feedback`, so an ESP that
retries a request changes nothing the second time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from pertinent.api.errors import problem
from pertinent.app import System
from pertinent.delivery.feedback import Feedback, record_feedback
from pertinent.delivery.webhooks import Unauthentic
from pertinent.delivery.webhooks.sendgrid import SIGNATURE_HEADER, TIMESTAMP_HEADER
from pertinent.errors import InputError

MAX_BODY_BYTES = 5 * 1024 * 1024  # SendGrid batches many events in one request


def build_router(system: System) -> APIRouter:
    router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
    hooks = system.esp

    async def handle(
        request: Request, esp: str, read: Callable[[bytes], list[Feedback]] | None
    ) -> Response:
        if read is None:
            return problem(
                404,
                f"the {esp} webhook is not configured",
                hint=f"set delivery.webhooks.{esp} in pertinent.yaml (docs/delivery.md)",
            )
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            return problem(413, f"request body over {MAX_BODY_BYTES} bytes")
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return problem(413, f"request body over {MAX_BODY_BYTES} bytes")
        try:
            reports = await run_in_threadpool(read, body)
        except Unauthentic as exc:
            return problem(403, exc.message)
        except InputError as exc:
            return problem(400, exc.message, where=exc.where)
        outcome = await run_in_threadpool(
            record_feedback, system.storage, reports, system.clock.now()
        )
        answer: dict[str, Any] = {"recorded": outcome.recorded, "unmatched": outcome.unmatched}
        return JSONResponse(answer)

    @router.post("/ses", summary="Amazon SES notifications through Amazon SNS")
    async def ses(request: Request) -> Response:
        return await handle(request, "ses", hooks.ses.read if hooks.ses else None)

    @router.post("/sendgrid", summary="SendGrid Event Webhook (signed)")
    async def sendgrid(request: Request) -> Response:
        verifier = hooks.sendgrid
        signature = request.headers.get(SIGNATURE_HEADER)
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        read = (lambda body: verifier.read(body, signature, timestamp)) if verifier else None
        return await handle(request, "sendgrid", read)

    @router.post("/postmark", summary="Postmark bounce and spam complaint webhooks")
    async def postmark(request: Request) -> Response:
        verifier = hooks.postmark
        authorization = request.headers.get("authorization")
        read = (lambda body: verifier.read(body, authorization)) if verifier else None
        return await handle(request, "postmark", read)

    return router
