"""Errors as JSON problems. No traceback reaches a client."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from pertinent.errors import InputError, NotFoundError, PertinentError

log = logging.getLogger("pertinent.api")


def problem(
    status: int, message: str, *, where: str | None = None, hint: str | None = None, **extra: object
) -> JSONResponse:
    body: dict[str, object] = {"success": False, "error": message}
    if where is not None:
        body["where"] = where
    if hint is not None:
        body["hint"] = hint
    body.update(extra)
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PertinentError)
    async def _pertinent(_req: Request, exc: PertinentError) -> JSONResponse:
        status = (
            404 if isinstance(exc, NotFoundError) else 400 if isinstance(exc, InputError) else 422
        )
        return problem(status, exc.message, where=exc.where, hint=exc.hint)

    @app.exception_handler(HTTPException)
    async def _http(_req: Request, exc: HTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return problem(400, str(first.get("msg", "invalid request")), where=where)

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem(500, "internal error; the server log has the details")
