"""Cases: business exceptions for operations people, scored and ordered by what matters.

Viewers read; operators assign, comment, resolve and reject; approvals need the approver
role the policy names (the partner profile's ``approvers``) or an admin. Every change is
audited and kept in the case's history.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.api.deps import DbSession, HubDep, Operator, ReadSession, Viewer
from hub.api.problems import Problem
from hub.ops import case_flows
from hub.ops.cases import CaseStateError
from hub.ops.rules import may_approve
from hub.partners import partner_dict
from hub.storage.ops_tables import CaseEvent
from hub.storage.tables import Case

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


def _read(c: Case) -> dict[str, Any]:
    d = c.details or {}
    return {"id": c.id, "type": c.type, "title": d.get("title"), "category": d.get("category"),
            "severity": c.severity, "status": c.status, "score": c.score, "owner": c.owner,
            "partner_id": c.partner_id, "business_key": c.business_key, "summary": c.summary,
            "recommended_action": d.get("recommended_action"), "approver_role": c.approver_role,
            "resolution": c.resolution, "due_at": c.due_at, "created_at": c.created_at,
            "resolved_at": c.resolved_at, "document_id": c.document_id, "inbox_id": c.inbox_id, "job_id": c.job_id}


@router.get("", summary="List cases (filter; sorted by score, highest first, by default)")
def list_cases(
    _: Viewer, s: ReadSession,
    status: str | None = Query(None, description="open, assigned, awaiting_approval, resolved, approved, "
                                                   "rejected, auto_resolved; `active` for every open kind"),
    type: str | None = None, partner: str | None = None, owner: str | None = None,
    severity: str | None = None, business_key: str | None = None,
    sort: Literal["score", "-score", "created", "-created", "due"] = "-score",
    limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0),
) -> dict[str, Any]:
    stmt = select(Case)
    if status == "active":
        stmt = stmt.where(Case.status.in_(("open", "assigned", "awaiting_approval")))
    elif status:
        stmt = stmt.where(Case.status == status)
    for column, value in ((Case.type, type), (Case.partner_id, partner), (Case.owner, owner),
                          (Case.severity, severity), (Case.business_key, business_key)):
        if value:
            stmt = stmt.where(column == value)
    order = {"score": (Case.score.asc(), Case.id), "-score": (Case.score.desc(), Case.id),
             "created": (Case.id.asc(),), "-created": (Case.id.desc(),), "due": (Case.due_at.asc(), Case.id)}[sort]
    rows = s.scalars(stmt.order_by(*order).offset(offset).limit(limit)).all()
    return {"items": [_read(c) for c in rows]}


def _find(s: Session, case_id: int) -> Case:
    case = s.get(Case, case_id)
    if case is None:
        raise Problem(404, "Not found", f"no case {case_id}")
    return case


@router.get("/{case_id}", summary="One case: detection, score explained, policy, history")
def get_case(case_id: int, _: Viewer, s: ReadSession) -> dict[str, Any]:
    case = _find(s, case_id)
    events = s.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id))
    return {**_read(case), "details": case.details,
            "history": [{"at": e.at, "actor": e.actor, "action": e.action, "reason": e.reason,
                         "details": e.details} for e in events]}


class AssignRequest(BaseModel):
    owner: str = Field(min_length=1, max_length=80, description="A person or a queue")
    reason: str | None = Field(None, max_length=2000)


class CommentRequest(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


class ResolveRequest(BaseModel):
    action: str = Field(description="The action taken (from the case's `actions`, e.g. accept_price_difference)")
    reason: str = Field(min_length=3, max_length=2000)


class ApproveRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)
    action: str | None = Field(None, description="Defaults to the policy's resolution")


class RejectRequest(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)


def _done(case: Case, released: int | None, hub: Any) -> dict[str, Any]:
    if released is not None:
        hub.runtime.submit(released)
    return {**_read(case), "released_job_id": released}


@router.post("/{case_id}/assign", summary="Give the case an owner (audited)")
def assign(case_id: int, body: AssignRequest, who: Operator, s: DbSession) -> dict[str, Any]:
    case = _find(s, case_id)
    try:
        case_flows.assign(s, case, actor=who.actor, owner=body.owner, reason=body.reason)
    except CaseStateError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    s.commit()
    return _read(case)


@router.post("/{case_id}/comment", summary="Add a note to the history (audited)")
def comment(case_id: int, body: CommentRequest, who: Operator, s: DbSession) -> dict[str, Any]:
    case = _find(s, case_id)
    case_flows.comment(s, case, actor=who.actor, text=body.text)
    s.commit()
    return _read(case)


@router.post("/{case_id}/resolve", summary="Close with an action and a reason (audited)")
def resolve(case_id: int, body: ResolveRequest, who: Operator, s: DbSession, hub: HubDep) -> dict[str, Any]:
    case = _find(s, case_id)
    try:
        released = case_flows.resolve(s, case, actor=who.actor, action=body.action, reason=body.reason)
    except CaseStateError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    s.commit()
    return _done(case, released, hub)


@router.post("/{case_id}/approve", summary="Approve what the policy proposes (approver role; audited)")
def approve(case_id: int, body: ApproveRequest, who: Operator, s: DbSession, hub: HubDep) -> dict[str, Any]:
    case = _find(s, case_id)
    profile = partner_dict(s, case.partner_id) if case.partner_id else None
    if not may_approve(profile, case.approver_role, name=who.name, role=who.role):
        raise Problem(403, "Forbidden", f"approving case {case_id} needs the {case.approver_role} role "
                      f"(partner {case.partner_id}); key {who.name!r} does not hold it")
    try:
        released = case_flows.approve(s, case, actor=who.actor, reason=body.reason, action=body.action)
    except CaseStateError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    s.commit()
    return _done(case, released, hub)


@router.post("/{case_id}/reject", summary="Reject: the document stays stopped (audited)")
def reject(case_id: int, body: RejectRequest, who: Operator, s: DbSession) -> dict[str, Any]:
    case = _find(s, case_id)
    profile = partner_dict(s, case.partner_id) if case.partner_id else None
    if case.status == "awaiting_approval" and not may_approve(profile, case.approver_role, name=who.name,
                                                              role=who.role):
        raise Problem(403, "Forbidden", f"rejecting case {case_id} needs the {case.approver_role} role")
    try:
        case_flows.reject(s, case, actor=who.actor, reason=body.reason)
    except CaseStateError as exc:
        raise Problem(409, "Conflict", str(exc)) from None
    s.commit()
    return _read(case)
