"""EDI endpoints: AS2 and plain EDI in, outbound documents, and what is still unacknowledged.

``POST /as2`` needs no API key: an AS2 partner is known by its AS2 id (``as2.as2_id`` in its
profile) and answered with an MDN only after the raw message is stored. An asynchronous MDN for
something Crossdock sent arrives there too and goes to ``hub.edi.mdn.MdnReceiver``. Everything
else is authenticated like the rest of the API.

Usage:
    mount(app, hub)                                   # in hub.app.create_app
    hub.scheduler.every(1.0, "edi-send", edi_sender(hub))  # in Hub: outbound interchanges
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from canonical.errors import CrossdockError
from canonical.registry import model_for
from connectors.base import Receipt
from connectors.formats import sniff
from connectors.transports.as2 import as2_endpoint
from hub.api.deps import HubDep, Operator, Viewer, authorize
from hub.api.inbound import header_parameter, outcome_response, read_limited
from hub.api.problems import Problem
from hub.edi.mdn import MdnReceiver
from hub.edi.outbound import queue_document
from hub.edi.receive import EdiInbox, as2_partner, envelope_of, partner_for_envelope, sender_hint
from hub.edi.sender import EdiSender
from hub.partners import partner_dict
from hub.receipts import ReceiptState, receipt_state
from hub.stages import findings_from_pydantic
from hub.storage.edi_tables import EdiOutbound, EdiReceived
from hub.storage.tables import utcnow

if TYPE_CHECKING:
    from hub.app import Hub

__all__ = ["edi_sender", "mount", "router"]

router = APIRouter(tags=["edi"])
_OUTBOUND_TYPES = ("purchase_order", "order_acknowledgment", "ship_notice", "invoice")


class OutboundRequest(BaseModel):
    partner: str = Field(description="The partner to send to (its profile has an `edi:` section)")
    document: dict[str, Any] = Field(description="The canonical document (JSON)")


def _inbox(hub: Hub) -> EdiInbox:
    return EdiInbox(hub.db, hub.inbox, blobs=hub.blobs)


def mount(app: FastAPI, hub: Hub) -> None:
    """Add ``/as2`` and the EDI routes to ``app``."""
    app.add_api_route("/as2", as2_endpoint(inbox=_inbox(hub), profiles=lambda as2_id: as2_partner(hub.db, as2_id),
                                           on_mdn=MdnReceiver(hub.db), max_bytes=hub.settings.max_body_bytes),
                      methods=["POST"], include_in_schema=False)
    app.include_router(router)


def edi_sender(hub: Hub) -> Callable[[], int]:
    """The scheduled task that delivers queued outbound interchanges (every run mode's scheduler).

    Each run first resends (or fails) interchanges whose asynchronous MDN is overdue.
    """
    return EdiSender(hub.db, policy=hub.processor.policy).poll


def _sender_of_broken(hub: Hub, body: bytes) -> str:
    """The partner a broken interchange names (leniently), else the id it gives, else ``unknown``."""
    hint = sender_hint(body)
    if hint is None or not hint[0]:
        return "unknown"
    return partner_for_envelope(hub.db, *hint) or hint[0]


@router.post(
    "/api/v1/inbound/edi", summary="Send X12 or EDIFACT over HTTP (partner from the envelope)",
    responses={201: {"description": "Processed: a new document"},
               200: {"description": "Already seen: what became of the first is returned"},
               202: {"description": "Stored; still being processed (poll the Location)"},
               400: {"description": "Not EDI (not stored), or unreadable: stored and parked as a dead letter"},
               401: {"description": "No API key, or an unknown or revoked one"},
               403: {"description": "The key lacks the ingest role, or may only send for another partner"},
               413: {"description": "Over the size limit: not stored"},
               422: {"description": "Invalid: stored and parked as a dead letter"}},
    # As POST /api/v1/inbound/{partner}/{type}: the key and headers are read from the request, not
    # resolved as FastAPI dependencies, which cost more per interchange than the rest of the request
    # on the event loop. The documentation shows them as before.
    openapi_extra={"parameters": [header_parameter("prefer", "Prefer"),
                                  header_parameter("x-correlation-id", "X-Correlation-Id")]},
)
async def post_edi(request: Request) -> Response:
    """Store the raw interchange first, then answer with the outcome.

    As ``POST /api/v1/inbound/{partner}/{type}``: waits up to ``CROSSDOCK_INBOUND_WAIT_SECONDS``
    for processing; ``Prefer: respond-async`` gets 202 as soon as the bytes are stored, and
    ``X-Correlation-ID`` is kept on the receipt and echoed.
    """
    principal = await authorize(request, "ingest")  # first, as the dependency was: 401 / 403
    hub: Hub = request.app.state.hub
    prefer = request.headers.get("prefer")
    x_correlation_id = request.headers.get("x-correlation-id")
    body = await read_limited(request, hub.settings.max_body_bytes)
    ic = envelope_of(body)
    if ic is None and sniff(body) is None:
        raise Problem(400, "Not EDI", "the body is not an X12 (ISA) or EDIFACT (UNA/UNB) interchange")
    # An interchange whose envelope cannot be read is kept all the same: its reading names what is wrong.
    partner_id: str = ic.sender_id.strip() if ic is not None else (principal.partner_id or "")
    if not partner_id:
        partner_id = await run_in_threadpool(_sender_of_broken, hub, body)
    elif principal.partner_id and ic is not None:
        # A key bound to a partner sends only that partner's interchanges: checked before anything
        # is stored, on the partner the inbox would put the envelope down to (``EdiInbox._resolve``).
        named = await run_in_threadpool(partner_for_envelope, hub.db, ic.sender_id, ic.receiver_id)
        if (named or partner_id) != principal.partner_id:
            raise Problem(403, "Forbidden", f"key {principal.name!r} may only send for {principal.partner_id!r}, "
                          f"and this interchange is from {named or partner_id!r}")
    receipt = Receipt(partner_id=partner_id, channel="edi-http", content_type=request.headers.get(
        "content-type"), correlation_id=x_correlation_id or uuid.uuid4().hex, meta={"api_key": principal.name})
    stored = await _inbox(hub).store_async(receipt, body, ic)
    hub.metrics.received.labels("edi-http", "duplicate" if stored.already_seen else "stored").inc()

    def poll() -> ReceiptState | None:
        with hub.db.reader() as s:
            return receipt_state(s, stored.receipt_id)

    if stored.already_seen:  # a replay: answered at once with what became of the original
        state = await run_in_threadpool(poll)
    elif prefer and "respond-async" in prefer.lower():  # stored and queued is the answer
        state = ReceiptState(stored.receipt_id, "received", receipt.partner_id, "edi-http", stored.sha256)
    else:
        state = await hub.notifier.wait(stored.receipt_id, hub.settings.inbound_wait_seconds, poll)
    assert state is not None
    response = outcome_response(state)
    response.headers["X-Correlation-ID"] = receipt.correlation_id or ""
    return response


def _queue(hub: Hub, body: OutboundRequest, document_type: str) -> dict[str, Any]:
    if document_type not in _OUTBOUND_TYPES:
        raise Problem(404, "Not found", f"Crossdock sends {', '.join(_OUTBOUND_TYPES)} as EDI, not {document_type}")
    try:
        doc = model_for(document_type).model_validate({**body.document, "document_type": document_type})
    except ValidationError as exc:
        raise Problem(422, "Invalid document", f"{document_type} for {body.partner} is invalid",
                      findings=[f.__dict__ for f in findings_from_pydantic(exc)]) from None
    with hub.db.session() as s:
        partner = partner_dict(s, body.partner)
        if partner is None:
            raise Problem(404, "Unknown partner", f"no partner {body.partner!r}", partner=body.partner)
        try:
            row = queue_document(s, partner, doc)
        except CrossdockError as exc:
            raise Problem(422, "Cannot send", str(exc), partner=body.partner, code=exc.code) from None
        return _row(row)


@router.post("/api/v1/outbound/purchase-orders", status_code=201, summary="Send a purchase order (850 / ORDERS)")
def post_purchase_order(body: OutboundRequest, _: Operator, hub: HubDep) -> JSONResponse:
    return JSONResponse(_queue(hub, body, "purchase_order"), status_code=201)


@router.post("/api/v1/outbound/{document_type}", status_code=201,
             summary="Send an order response, ship notice or invoice (855/856/810, ORDRSP/DESADV/INVOIC)")
def post_outbound(document_type: str, body: OutboundRequest, _: Operator, hub: HubDep) -> JSONResponse:
    return JSONResponse(_queue(hub, body, document_type.replace("-", "_").removesuffix("s")), status_code=201)


def _row(r: EdiOutbound) -> dict[str, Any]:
    overdue = bool(r.ack_status == "pending" and r.ack_due_at is not None and r.ack_due_at < utcnow())
    return {"id": r.id, "partner_id": r.partner_id, "standard": r.standard, "set_id": r.set_id,
            "document_type": r.document_type, "po_number": r.po_number, "interchange_control": r.interchange_control,
            "group_control": r.group_control, "control_number": r.control_number, "status": r.status,
            "ack_status": r.ack_status, "ack_detail": r.ack_detail, "overdue": overdue, "attempts": r.attempts,
            "last_error": r.last_error, "receipt": r.receipt,
            "sent_at": r.sent_at.isoformat() if r.sent_at else None, "as2_message_id": r.as2_message_id,
            "mdn_due_at": r.mdn_due_at.isoformat() if r.mdn_due_at else None, "mdn_resends": r.mdn_resends or 0}


@router.get("/api/v1/edi/outbound", summary="Interchanges Crossdock sent or will send")
def list_outbound(_: Viewer, hub: HubDep, partner: str | None = None, po_number: str | None = None,
                  set_id: str | None = None, status: str | None = None, ack_status: str | None = None,
                  limit: int = 200) -> list[dict[str, Any]]:
    q = select(EdiOutbound).order_by(EdiOutbound.id).limit(limit)
    for column, value in ((EdiOutbound.partner_id, partner), (EdiOutbound.po_number, po_number),
                          (EdiOutbound.set_id, set_id), (EdiOutbound.status, status),
                          (EdiOutbound.ack_status, ack_status)):
        if value is not None:
            q = q.where(column == value)
    with hub.db.reader() as s:
        return [_row(r) for r in s.scalars(q)]


@router.get("/api/v1/edi/unacknowledged", summary="What Crossdock sent that the partner has not acknowledged")
def unacknowledged(_: Viewer, hub: HubDep, partner: str | None = None) -> list[dict[str, Any]]:
    return list_outbound(_, hub, partner=partner, ack_status="pending")


@router.get("/api/v1/edi/outbound/{outbound_id}/raw", summary="The bytes of one outbound interchange")
def outbound_raw(outbound_id: int, _: Viewer, hub: HubDep) -> Response:
    with hub.db.reader() as s:
        row = s.get(EdiOutbound, outbound_id)
        if row is None:
            raise Problem(404, "Not found", f"no outbound interchange {outbound_id}")
        return Response(bytes(row.raw), media_type="application/edi-x12" if row.standard == "x12"
                        else "application/edifact")


@router.get("/api/v1/edi/received", summary="Sets received, their verdicts, documents and links to POs")
def list_received(_: Viewer, hub: HubDep, partner: str | None = None, po_number: str | None = None,
                  status: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    q = select(EdiReceived).order_by(EdiReceived.id).limit(limit)
    for column, value in ((EdiReceived.partner_id, partner), (EdiReceived.po_number, po_number),
                          (EdiReceived.status, status)):
        if value is not None:
            q = q.where(column == value)
    with hub.db.reader() as s:
        return [{"id": r.id, "inbox_id": r.inbox_id, "partner_id": r.partner_id, "standard": r.standard,
                 "interchange_control": r.interchange_control, "group_control": r.group_control,
                 "set_id": r.set_id, "control_number": r.control_number, "status": r.status,
                 "document_id": r.document_id, "document_type": r.document_type, "po_number": r.po_number,
                 "outbound_id": r.outbound_id, "dead_letter_id": r.dead_letter_id, "findings": r.findings,
                 "notes": r.notes} for r in s.scalars(q)]
