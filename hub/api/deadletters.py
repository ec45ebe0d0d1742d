"""Dead letters: technical failures parked for integration engineers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from deadletter import flows, service
from deadletter.flow_models import BulkReplayRequest, EditRequest, PauseRequest
from deadletter.models import DeadLetterDetail, DeadLetterRead, DiscardRequest, ReplayRequest
from hub.api.deps import DbSession, HubDep, Operator, ReadSession, Viewer
from hub.api.problems import Problem
from hub.storage.ops_tables import DeadLetterEdit
from hub.storage.tables import DeadLetter, InboxEntry

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/deadletters", tags=["dead letters"])


def _find(s: Any, dead_letter_id: int) -> DeadLetter:
    dl = service.get(s, dead_letter_id)
    if dl is None:
        raise Problem(404, "Not found", f"no dead letter {dead_letter_id}")
    return dl


@router.get("", summary="List dead letters (newest first)")
def list_dead_letters(
    _: Viewer, s: ReadSession, status: str | None = Query("open", description="open, replaying, resolved, discarded; empty for all"),
    partner: str | None = None, stage: str | None = None, error_code: str | None = None,
    limit: int = Query(50, ge=1, le=500), cursor: int | None = None,
) -> dict[str, Any]:
    rows = service.list_dead_letters(s, status=status or None, partner_id=partner, stage=stage,
                                     error_code=error_code, limit=limit + 1, before_id=cursor)
    more = len(rows) > limit
    rows = list(rows[:limit])
    return {"items": [DeadLetterRead.model_validate(r).model_dump(mode="json") for r in rows],
            "next_cursor": rows[-1].id if more and rows else None}


@router.get("/{dead_letter_id}", summary="One dead letter with its raw payload, stage, error and attempts")
def get_dead_letter(dead_letter_id: int, _: Viewer, s: ReadSession, hub: HubDep) -> DeadLetterDetail:
    dl = _find(s, dead_letter_id)
    raw = None
    if dl.inbox_id is not None:
        entry = s.get(InboxEntry, dl.inbox_id)
        if entry is not None:
            raw = entry.raw if entry.raw is not None else (hub.blobs.read(entry.blob_path) if entry.blob_path else None)
    return service.detail(s, dl, raw=raw)


@router.post("/{dead_letter_id}/replay", status_code=202, summary="Process it again (audited)")
def replay(dead_letter_id: int, principal: Operator, s: DbSession, hub: HubDep,
           body: ReplayRequest | None = None) -> dict[str, Any]:
    dl = _find(s, dead_letter_id)
    try:
        job_id = service.replay(s, dl, actor=principal.actor, reason=body.reason if body else None)
    except service.DeadLetterStateError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    s.commit()
    if dl.partner_id:
        hub.processor.context.forget(dl.partner_id)
    hub.runtime.submit(job_id)
    return {"dead_letter_id": dl.id, "status": "replaying", "job_id": job_id,
            "receipt_id": dl.inbox_id, "status_url": f"/api/v1/receipts/{dl.inbox_id}" if dl.inbox_id else None}


@router.post("/{dead_letter_id}/discard", summary="Give up on it, with a reason (audited)")
def discard(dead_letter_id: int, body: DiscardRequest, principal: Operator, s: DbSession) -> dict[str, Any]:
    dl = _find(s, dead_letter_id)
    try:
        service.discard(s, dl, actor=principal.actor, reason=body.reason)
    except service.DeadLetterStateError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    return {"dead_letter_id": dl.id, "status": "discarded"}


@router.post("/{dead_letter_id}/edit", status_code=202, summary="Edit the payload and replay it (diff audited)")
def edit_and_replay(dead_letter_id: int, body: EditRequest, principal: Operator, s: DbSession,
                    hub: HubDep) -> dict[str, Any]:
    dl = _find(s, dead_letter_id)
    entry = s.get(InboxEntry, dl.inbox_id) if dl.inbox_id is not None else None
    original = b"" if entry is None else (entry.raw if entry.raw is not None else hub.blobs.read(entry.blob_path or ""))
    try:
        job_id = flows.edit_and_replay(s, dl, actor=principal.actor, reason=body.reason, original=original,
                                       raw=body.raw.encode() if body.raw is not None else None,
                                       canonical=body.canonical)
    except service.DeadLetterStateError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    s.commit()
    hub.runtime.submit(job_id)
    return {"dead_letter_id": dl.id, "status": "replaying", "job_id": job_id, "receipt_id": dl.inbox_id}


@router.post("/bulk-replay", summary="Replay every open dead letter a filter selects (dry run by default)")
def bulk_replay(body: BulkReplayRequest, principal: Operator, s: DbSession) -> dict[str, Any]:
    flt = flows.BulkFilter(partner_id=body.partner, document_type=body.document_type, error_code=body.error_code,
                           stage=body.stage, since=body.since, until=body.until)
    try:
        result = flows.bulk_replay(s, flt, actor=principal.actor, reason=body.reason, rate=body.rate,
                                   dry_run=body.dry_run)
    except service.DeadLetterStateError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    s.commit()
    return {"dry_run": body.dry_run, "count": result.count, "dead_letter_ids": result.dead_letter_ids[:1000],
            "rate": body.rate, "seconds": round(result.seconds, 3)}


@router.post("/partners/{partner_id}/pause", summary="Hold a partner's processing (audited)")
def pause(partner_id: str, principal: Operator, s: DbSession, hub: HubDep,
          body: PauseRequest | None = None) -> dict[str, Any]:
    return _pause(partner_id, True, principal.actor, body, s, hub)


@router.post("/partners/{partner_id}/resume", summary="Resume a paused partner (audited)")
def resume(partner_id: str, principal: Operator, s: DbSession, hub: HubDep,
           body: PauseRequest | None = None) -> dict[str, Any]:
    return _pause(partner_id, False, principal.actor, body, s, hub)


def _pause(partner_id: str, paused: bool, actor: str, body: PauseRequest | None, s: Any, hub: Any) -> dict[str, Any]:
    try:
        waiting = flows.set_paused(s, partner_id, paused=paused, actor=actor, reason=body.reason if body else None)
    except service.DeadLetterStateError as exc:
        raise Problem(404, "Not found", str(exc)) from None
    s.commit()
    hub.processor.context.forget(partner_id)
    return {"partner_id": partner_id, "paused": paused, "jobs_waiting": waiting}


@router.get("/{dead_letter_id}/edits", summary="The edits made to a dead letter: editor, reason, diff")
def list_edits(dead_letter_id: int, _: Viewer, s: ReadSession) -> dict[str, Any]:
    _find(s, dead_letter_id)
    rows = s.scalars(select(DeadLetterEdit).where(DeadLetterEdit.dead_letter_id == dead_letter_id)
                     .order_by(DeadLetterEdit.id))
    return {"items": [{"id": e.id, "at": e.at, "editor": e.editor, "reason": e.reason, "kind": e.kind,
                       "from_receipt": e.from_inbox_id, "to_receipt": e.to_inbox_id, "diff": e.diff} for e in rows]}
