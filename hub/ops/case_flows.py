"""What people do with a case: assign, comment, resolve, approve, reject. All audited.

A case that stopped a document (it has a job) releases the document when the last open
case of that job is resolved or approved with an accepting action: the job runs again with
those exception codes accepted, so the document goes on exactly once. A rejection (or a
rejecting resolution such as ``cancel_duplicate``) leaves the document stopped.

Usage:
    released = resolve(s, case, actor="apikey:ops", action="accept_price_difference", reason="ok")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from hub.ops.cases import CLOSED, CaseStateError, event
from hub.storage.tables import Case, InboxEntry, Job, utcnow
from pipelines.exceptions import ACTIONS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["REJECTING", "approve", "assign", "comment", "reject", "resolve"]

REJECTING = frozenset({"cancel_duplicate", "reject_price", "reject_duplicate_invoice", "hold_for_credit_review",
                       "request_prepayment", "refuse_over_quantity", "request_original", "recalculate_invoice"})


def _open(case: Case) -> None:
    if case.status in CLOSED:
        raise CaseStateError(f"case {case.id} is {case.status} already")


def assign(s: Session, case: Case, *, actor: str, owner: str, reason: str | None = None) -> None:
    _open(case)
    before = case.owner
    case.owner = owner
    if case.status == "open":
        case.status = "assigned"
    event(s, case, actor=actor, action="assign", reason=reason, details={"owner": owner, "was": before})


def comment(s: Session, case: Case, *, actor: str, text: str) -> None:
    event(s, case, actor=actor, action="comment", reason=text)


def _close(s: Session, case: Case, *, status: str, actor: str, action: str | None, reason: str) -> int | None:
    case.status, case.resolution, case.resolved_at = status, action, utcnow()
    event(s, case, actor=actor, action={"resolved": "resolve", "approved": "approve"}.get(status, "reject"),
          reason=reason, details={"resolution": action})
    accepting = status in ("resolved", "approved") and action not in REJECTING
    return _release(s, case, actor=actor) if accepting and case.job_id is not None else None


def resolve(s: Session, case: Case, *, actor: str, action: str, reason: str) -> int | None:
    """Close with a named action; returns the job id when that released a stopped document."""
    _open(case)
    if case.status == "awaiting_approval":
        raise CaseStateError(f"case {case.id} needs an approval ({case.approver_role}): approve or reject it")
    if action not in ACTIONS:
        raise CaseStateError(f"unknown action {action!r} (known: {', '.join(sorted(ACTIONS))})")
    return _close(s, case, status="resolved", actor=actor, action=action, reason=reason)


def approve(s: Session, case: Case, *, actor: str, reason: str, action: str | None = None) -> int | None:
    if case.status != "awaiting_approval":
        raise CaseStateError(f"case {case.id} is {case.status}; only cases awaiting approval are approved")
    chosen = action or (case.details.get("policy") or {}).get("resolution") or case.details.get("recommended_action")
    return _close(s, case, status="approved", actor=actor, action=chosen, reason=reason)


def reject(s: Session, case: Case, *, actor: str, reason: str) -> None:
    _open(case)
    _close(s, case, status="rejected", actor=actor, action=None, reason=reason)


def _release(s: Session, case: Case, *, actor: str) -> int | None:
    siblings = list(s.scalars(select(Case).where(Case.job_id == case.job_id, Case.id != case.id)))
    if any(c.status not in CLOSED for c in siblings):
        return None  # another case still holds the document
    if any(c.status == "rejected" or (c.resolution or "") in REJECTING for c in siblings):
        return None
    job = s.get(Job, case.job_id)
    if job is None or job.kind != "ingest" or job.status != "done":
        return None
    codes = sorted({case.type, *(c.type for c in siblings)})
    entry = s.get(InboxEntry, job.inbox_id)
    if entry is not None:
        meta: dict[str, Any] = dict(entry.meta)
        meta["accepted_exceptions"] = sorted({*meta.get("accepted_exceptions", []), *codes})
        entry.meta = meta
        entry.status = "received"
    s.execute(update(Job).where(Job.id == job.id).values(
        status="queued", attempts=0, next_attempt_at=utcnow(), finished_at=None,
        payload={**job.payload, "retry_from": utcnow().isoformat()}))
    event(s, case, actor=actor, action="released", details={"job_id": job.id, "accepted": codes}, audit=False)
    return job.id
