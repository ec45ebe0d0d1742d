"""Documents: search by partner, type, status, business key and time; one with raw and attempts."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from hub.api.deps import HubDep, ReadSession, Viewer
from hub.api.problems import Problem
from hub.partners import mask_secrets
from hub.storage.intel_tables import IntelDecision
from hub.storage.tables import Attempt, Document, InboxEntry, Job

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/documents", tags=["documents"])


def summary(d: Document) -> dict[str, Any]:
    return {"id": d.id, "document_type": d.document_type, "partner": d.partner_id,
            "business_key": d.business_key, "revision": d.revision, "idempotency_key": d.idempotency_key,
            "status": d.status, "direction": d.direction, "receipt_id": d.inbox_id,
            "erp_document_number": d.erp_document_number, "created_at": d.created_at.isoformat(),
            "updated_at": d.updated_at.isoformat()}


def raw_fields(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {"raw": None}
    try:
        return {"raw": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {"raw": None, "raw_base64": base64.b64encode(raw).decode()}


@router.get("", summary="Search documents (newest first, keyset-paginated)")
def list_documents(
    _: Viewer, s: ReadSession,
    partner: str | None = None, document_type: str | None = Query(None, alias="type"),
    status: str | None = None, business_key: str | None = None,
    since: datetime | None = Query(None, description="created at or after (ISO 8601)"),
    until: datetime | None = Query(None, description="created before (ISO 8601)"),
    limit: int = Query(50, ge=1, le=500), cursor: int | None = Query(None, description="next_cursor of the previous page"),
) -> dict[str, Any]:
    stmt = select(Document).order_by(Document.id.desc()).limit(limit + 1)
    for column, value in ((Document.partner_id, partner), (Document.document_type, document_type),
                          (Document.status, status), (Document.business_key, business_key)):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(Document.created_at >= since)
    if until is not None:
        stmt = stmt.where(Document.created_at < until)
    if cursor is not None:
        stmt = stmt.where(Document.id < cursor)
    rows = list(s.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [summary(d) for d in rows], "next_cursor": rows[-1].id if more and rows else None}


@router.get("/{document_id}", summary="One document: canonical JSON, raw payload, attempts, deliveries")
def get_document(document_id: int, _: Viewer, s: ReadSession, hub: HubDep) -> dict[str, Any]:
    d = s.get(Document, document_id)
    if d is None:
        raise Problem(404, "Not found", f"no document {document_id}")
    out = summary(d) | {"canonical": d.canonical}
    if d.inbox_id is not None:
        entry = s.get(InboxEntry, d.inbox_id)
        if entry is not None:
            raw = entry.raw if entry.raw is not None else (
                hub.blobs.read(entry.blob_path) if entry.blob_path else None)
            out |= raw_fields(raw) | {"receipt": {"id": entry.id, "channel": entry.channel,
                                                   "received_at": entry.received_at.isoformat(),
                                                   "sha256": entry.sha256, "size": entry.size,
                                                   "filename": entry.filename,
                                                   "correlation_id": entry.correlation_id}}
        attempts = s.scalars(select(Attempt).where(Attempt.inbox_id == d.inbox_id).order_by(Attempt.id))
        out["attempts"] = [{"job_id": a.job_id, "number": a.number, "at": a.started_at.isoformat(),
                            "stage": a.stage, "outcome": a.outcome, "error_code": a.error_code,
                            "error": a.error, "duration_ms": a.duration_ms} for a in attempts]
    deliveries = s.scalars(select(Job).where(Job.document_id == d.id, Job.kind == "deliver"))
    out["deliveries"] = [{"job_id": j.id, "status": j.status, "attempts": j.attempts,
                          "destination": mask_secrets(j.payload.get("destination")), "last_error": j.last_error,
                          "next_attempt_at": j.next_attempt_at.isoformat()} for j in deliveries]
    # the latest SLA-risk prediction of each document this one is still owed (855, 856, 810, 997)
    latest: dict[str, IntelDecision] = {}
    for p in s.scalars(select(IntelDecision).where(IntelDecision.kind == "prediction", IntelDecision.document_id == d.id)
                       .order_by(IntelDecision.id)):
        latest[p.subject] = p
    out["sla_risk"] = [{"expected": p.inputs.get("expected"), "due_at": p.inputs.get("due_at"),
                        "probability": p.value, "source": p.source, "model_version": p.model_version,
                        "confidence": p.confidence, "top_factors": p.outcome.get("top_factors"),
                        "warning": p.warning, "case_id": p.case_id, "at": p.at.isoformat()}
                       for p in latest.values()]
    return out
