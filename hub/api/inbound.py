"""Inbound documents over HTTP: raw first, then the outcome (or 202 while it is underway)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from connectors.base import Receipt
from hub.api.deps import HubDep, Viewer, authorize
from hub.api.problems import Problem, problem_response
from hub.inbox import PayloadTooLarge
from hub.receipts import ReceiptState, receipt_state

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["header_parameter", "outcome_response", "read_limited", "router"]

router = APIRouter(tags=["inbound"])


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, "Payload too large", f"{declared} bytes is over the limit of {limit} bytes "
                      "(CROSSDOCK_MAX_BODY_BYTES)", limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, "Payload too large", f"body is over the limit of {limit} bytes "
                          "(CROSSDOCK_MAX_BODY_BYTES)", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)


def outcome_response(state: ReceiptState, *, hub_base: str = "") -> Response:
    """The answer a sender gets for a receipt, whatever became of it."""
    body: dict[str, Any] = state.as_dict()
    status = state.status
    if status == "processed":
        headers = {"Location": f"/api/v1/documents/{state.document_id}"} if state.document_id else None
        return JSONResponse(body, status_code=201, headers=headers)
    if status == "duplicate":
        return JSONResponse(body, status_code=200)
    if status == "failed":
        outcome = state.outcome
        code = str(outcome.get("code") or "error")
        details = outcome.get("details") or {}
        http = 400 if code.startswith("parse.") else 422
        return problem_response(
            http, "Document rejected", str(outcome.get("error")), type_=code.replace(".", "-"),
            receipt_id=state.receipt_id, dead_letter_id=outcome.get("dead_letter_id"),
            stage=outcome.get("stage"), code=code, partner=state.partner_id,
            findings=details.get("findings"),
        )
    return JSONResponse(body, status_code=202, headers={"Location": f"/api/v1/receipts/{state.receipt_id}"})


def header_parameter(name: str, title: str) -> dict[str, Any]:
    """An optional string header as FastAPI documents a ``Header(None)`` parameter (``openapi_extra``)."""
    return {"in": "header", "name": name, "required": False,
            "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title}}


def _path(name: str, title: str) -> dict[str, Any]:
    return {"in": "path", "name": name, "required": True, "schema": {"title": title, "type": "string"}}


@router.post(
    "/api/v1/inbound/{partner_id}/{document_type}",
    summary="Send a document (JSON) from a partner",
    responses={201: {"description": "Processed: a new document"},
               200: {"description": "Already seen: the first document's id is returned"},
               202: {"description": "Stored; still being processed (poll the Location)"},
               400: {"description": "Malformed: stored and parked as a dead letter"},
               413: {"description": "Over the size limit: not stored"},
               422: {"description": "Invalid: stored and parked as a dead letter"}},
    # The parameters are read from the request, not resolved as FastAPI dependencies: this route
    # runs for every document, and resolving four parameters and the key cost more than the rest
    # of the request on the event loop. The documentation shows them as before.
    openapi_extra={"parameters": [_path("partner_id", "Partner Id"), _path("document_type", "Document Type"),
                                  header_parameter("prefer", "Prefer"),
                                  header_parameter("x-correlation-id", "X-Correlation-Id")]},
)
async def post_inbound(request: Request) -> Response:
    """Store the raw body first, then answer with the outcome.

    Waits up to ``CROSSDOCK_INBOUND_WAIT_SECONDS`` for processing; send ``Prefer: respond-async``
    to get 202 at once.
    """
    principal = await authorize(request, "ingest")  # first, as the dependency was: 401 / 403
    hub: Hub = request.app.state.hub
    partner_id: str = request.path_params["partner_id"]
    document_type: str = request.path_params["document_type"]
    headers = request.headers
    prefer = headers.get("prefer")
    x_correlation_id = headers.get("x-correlation-id")
    if principal.partner_id and principal.partner_id != partner_id:
        raise Problem(403, "Forbidden", f"key {principal.name!r} may only send for partner {principal.partner_id!r}")
    body = await read_limited(request, hub.settings.max_body_bytes)
    receipt = Receipt(
        partner_id=partner_id, channel="http", document_type=document_type,
        content_type=headers.get("content-type"),
        correlation_id=x_correlation_id or uuid.uuid4().hex,
        meta={"api_key": principal.name, "remote": request.client.host if request.client else None},
    )
    try:
        # committed before it returns (a group commit with concurrent requests: hub/inbox.py)
        stored = await hub.inbox.store_async(receipt, body)
    except PayloadTooLarge as exc:
        raise Problem(413, "Payload too large", str(exc)) from None
    hub.metrics.received.labels("http", "duplicate" if stored.already_seen else "stored").inc()
    wait = 0.0 if prefer and "respond-async" in prefer.lower() else hub.settings.inbound_wait_seconds

    def poll() -> ReceiptState | None:
        with hub.db.reader() as s:
            return receipt_state(s, stored.receipt_id)

    if wait:
        state = await hub.notifier.wait(stored.receipt_id, wait, poll)
    elif stored.duplicate_of is None:  # respond-async: stored and queued is the answer (no read back)
        state = ReceiptState(stored.receipt_id, "received", partner_id, "http", stored.sha256)
    else:  # a replay is answered with what became of the original
        state = await run_in_threadpool(poll)
    assert state is not None
    response = outcome_response(state)
    response.headers["X-Correlation-ID"] = receipt.correlation_id or ""
    return response


@router.get("/api/v1/receipts/{receipt_id}", summary="What became of a receipt")
def get_receipt(receipt_id: int, _: Viewer, hub: HubDep) -> Response:
    with hub.db.reader() as s:
        state = receipt_state(s, receipt_id)
    if state is None:
        raise Problem(404, "Not found", f"no receipt {receipt_id}")
    return JSONResponse(state.as_dict())
