"""Segment-compatible ingestion: /v1/track|identify|page|screen|group|alias|batch and the pixel
API. Bodies are read raw and parsed with orjson (the hot path), validated on the event loop,
and appended by the process's log writer (`ingest/writer.py`), which the loop awaits."""

from __future__ import annotations

import base64
import binascii
import zlib
from contextlib import aclosing
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from pertinent.api.auth import KeyRing, require_write_key
from pertinent.api.errors import problem
from pertinent.app import System
from pertinent.ingest.pipeline import MAX_BATCH_BYTES, MAX_EVENT_BYTES, IngestResult

# The smallest transparent 1x1 GIF.
PIXEL_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
SINGLE_TYPES = ("track", "identify", "page", "screen", "group", "alias")


# A gzip stream of a body within the limit is at most a few hundred bytes longer than the body
# (deflate's worst case is stored blocks, 5 bytes per 64 KB, plus gzip's 18-byte header and
# trailer), so more compressed bytes than limit + this cannot hold an acceptable body.
GZIP_SLACK = 4096


def _too_big(limit: int, size: str) -> JSONResponse:
    what = "32 KB per event" if limit == MAX_EVENT_BYTES else "500 KB per batch"
    return problem(400, f"request body is {size}; the limit is {what}")


async def _read(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it is longer than `limit`; the rest is never read, so
    a huge body costs no more memory than the limit."""
    chunks: list[bytes] = []
    size = 0
    async with aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _gunzip(data: bytes, limit: int) -> bytes | None:
    """The inflated body, or None once it is longer than `limit`: inflating stops there, so a
    gzip bomb costs no more memory than the limit. Like gzip.decompress, several members and
    zero padding after them are accepted; raises zlib.error or EOFError for a damaged stream."""
    parts: list[bytes] = []
    size = 0
    rest = data
    while rest:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing, CRC checked
        part = inflater.decompress(rest, limit + 1 - size)
        size += len(part)
        if size > limit:
            return None
        if not inflater.eof:
            raise EOFError("gzip stream ends early")
        parts.append(part)
        rest = inflater.unused_data.lstrip(b"\0")
    return b"".join(parts)


async def _body(request: Request, limit: int) -> tuple[Any, JSONResponse | None]:
    """The parsed JSON body, or the problem to answer; the size limit is enforced while the
    body is read and inflated, never after."""
    gzipped = request.headers.get("content-encoding", "").lower() == "gzip"
    read_limit = limit + GZIP_SLACK if gzipped else limit
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > read_limit:
        return None, _too_big(limit, f"{declared} bytes")
    raw = await _read(request, read_limit)
    if raw is None:
        return None, _too_big(limit, f"over {limit} bytes")
    if gzipped:
        try:
            inflated = _gunzip(raw, limit)
        except (zlib.error, EOFError):
            return None, problem(400, "body is not valid gzip")
        if inflated is None:
            return None, _too_big(limit, f"over {limit} bytes once inflated")
        raw = inflated
    try:
        return orjson.loads(raw), None
    except orjson.JSONDecodeError as exc:
        return None, problem(400, f"malformed JSON: {exc}", where="body")


def _answer(result: IngestResult) -> dict[str, Any]:
    """Segment's `success`, and what happened to each event: accepted (flagged or not),
    dropped as a duplicate, or rejected."""
    return {
        "success": True,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": [r.__dict__ for r in result.rejections],
        "flagged": result.flag_counts(),
        "flags": [f.__dict__ for f in result.flagged],
    }


def _request_context(request: Request) -> dict[str, Any]:
    """What Segment fills in from the request when the event does not say."""
    out: dict[str, Any] = {}
    if request.client is not None:
        out["ip"] = request.client.host
    return out


def install(app: FastAPI, system: System) -> None:
    """Add the ingestion routes to the app itself.

    They are the hot path; routes on an included router pay for route-context assembly on
    every request, routes on the app do not.
    """
    router = app.router
    keys = KeyRing.from_settings(system.workspace.settings.keys)

    @router.post(
        "/v1/batch",
        tags=["ingestion"],
        summary="Send many calls in one request (Segment batch API)",
    )
    async def batch(request: Request) -> Response:
        side = require_write_key(request, keys)
        body, error = await _body(request, MAX_BATCH_BYTES)
        if error:
            return error
        if not isinstance(body, dict) or not isinstance(body.get("batch"), list):
            return problem(400, "body must be an object with a 'batch' list", where="batch")
        result = await system.ingestor.ingest_async(
            body["batch"],
            batch_sent_at=body.get("sentAt"),
            context_defaults=_request_context(request),
            browser_key=side == "browser",
        )
        return JSONResponse(_answer(result))

    def single(kind: str) -> Any:
        async def endpoint(request: Request) -> Response:
            side = require_write_key(request, keys)
            body, error = await _body(request, MAX_EVENT_BYTES)
            if error:
                return error
            if isinstance(body, dict) and body.get("type", kind) != kind:
                return problem(400, f"type must be '{kind}' on /v1/{kind}", where="type")
            result = await system.ingestor.ingest_async(
                [body],
                default_type=kind,
                context_defaults=_request_context(request),
                browser_key=side == "browser",
            )
            if result.rejections:
                r = result.rejections[0]
                return problem(400, r.reason, where=r.field)
            return JSONResponse(_answer(result))

        endpoint.__name__ = kind
        return endpoint

    for kind in SINGLE_TYPES:
        router.add_api_route(
            f"/v1/{kind}",
            single(kind),
            methods=["POST"],
            tags=["ingestion"],
            summary=f"Segment {kind} call",
        )

    @router.get(
        "/v1/pixel/{kind}", tags=["ingestion"], summary="Segment pixel API: base64 JSON in ?data="
    )
    async def pixel(kind: str, request: Request, data: str = "") -> Response:
        if kind not in ("track", "page", "identify"):
            return problem(404, f"no pixel endpoint for {kind!r}; use track, page or identify")
        try:
            padded = data + "=" * (-len(data) % 4)
            body = orjson.loads(
                base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
            )
        except (binascii.Error, ValueError, orjson.JSONDecodeError):
            return problem(400, "data must be base64-encoded JSON", where="data")
        side = keys.write_side(body.get("writeKey")) if isinstance(body, dict) else None
        if side is None:
            return problem(401, "missing or unknown writeKey in the pixel data")
        defaults = _request_context(request)
        if agent := request.headers.get("user-agent"):
            defaults["userAgent"] = agent
        result = await system.ingestor.ingest_async(
            [body], default_type=kind, context_defaults=defaults, browser_key=side == "browser"
        )
        if result.rejections:
            r = result.rejections[0]
            return problem(400, r.reason, where=r.field)
        return Response(PIXEL_GIF, media_type="image/gif", headers={"Cache-Control": "no-store"})
