"""Where the processor hands over to the operations features, inside its own transaction.

* ``park``: a change that waits for its original: the job becomes ``waiting`` (not swept),
  keyed by the order's business key.
* ``after_accept``: new documents wake the revisions waiting for them (closing their
  waiting cases), mark older revisions superseded, record auto-resolved cases and index the
  orders of new ship notices (for the detectors' history).
* ``open_found``: a ``CasesFound`` outcome opens one scored case per detection.

Usage (from ``Processor``):
    if is_waiting(outcome): return park(db, job_id=..., ...)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, bindparam, func, select, update

from hub.ops.cases import event, open_cases
from hub.ops.history import record_ship_notice_orders
from hub.ops.stages import CasesFound, WaitingForOriginal
from hub.storage.tables import Attempt, Case, Document, InboxEntry, Job, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from hub.storage.db import Database
    from pipelines.refdata import ReferenceData
    from pipelines.runner import Message, Outcome

__all__ = ["after_accept", "is_waiting", "open_found", "park"]


def is_waiting(outcome: Outcome) -> bool:
    return isinstance(outcome.error, WaitingForOriginal)


def park(db: Database, *, job_id: int, attempts: int, inbox_id: int | None, payload: dict[str, Any],
         outcome: Outcome, worker: str, duration_ms: int) -> str:
    error = outcome.error
    assert isinstance(error, WaitingForOriginal)
    with db.session() as s:
        _lock_keys(s, [error.business_key])  # an original being accepted commits first, or sees this job waiting
        claimed = s.execute(  # type: ignore[attr-defined]  # DML results carry rowcount
            update(Job).where(Job.id == job_id, Job.status.in_(("queued", "retrying")), Job.attempts == attempts)
            .values(status="waiting", attempts=attempts + 1, ordering_key=error.business_key,
                    last_error=str(error), payload={**payload, "waiting": {
                        "business_key": error.business_key, "revision": error.revision,
                        "document": error.document, "since": payload.get("waiting", {}).get(
                            "since", utcnow().isoformat())}})).rowcount
        if not claimed:
            s.rollback()
            return "skipped"
        s.add(Attempt(job_id=job_id, inbox_id=inbox_id, number=attempts + 1, duration_ms=duration_ms,
                      stage=outcome.stage, outcome="waiting", error_code=error.code, error=str(error),
                      worker=worker))
        if inbox_id is not None:
            s.execute(update(InboxEntry).where(InboxEntry.id == inbox_id).values(
                status="waiting", outcome={"waiting_for": f"{error.business_key} revision {error.revision - 1}",
                                           "stage": outcome.stage}))
    # The revision awaited may have been committed while this job ran: its wake-up (in
    # ``after_accept``) did not see this job waiting yet. Look again now that it is. (The key
    # lock above makes one of the two looks see the other's commit: on PostgreSQL a wake-up
    # that looked before this job was waiting could otherwise still be uncommitted here.)
    with db.session() as s:
        held = s.scalar(select(Document.id).where(
            Document.business_key == error.business_key, Document.document_type == "purchase_order",
            Document.revision == str(error.revision - 1)).limit(1))
        if held is not None:
            s.execute(update(Job).where(Job.id == job_id, Job.status == "waiting")
                      .values(status="queued", next_attempt_at=utcnow()))
            return "queued"
    return "waiting"


_WAITING = select(Job.__table__.c.id).where(Job.__table__.c.status == "waiting",
                                            Job.__table__.c.ordering_key.in_(bindparam("keys", expanding=True)))
# Transaction advisory locks on business keys (PostgreSQL): a change's park and its original's
# wake-up take turns (``_lock_keys``).
_KEY_LOCKS = 0x43444B02
_LOCK_KEY = select(func.pg_advisory_xact_lock(bindparam("space", type_=Integer),
                                              func.hashtext(bindparam("key"))))


def _lock_keys(s: Session, keys: list[str]) -> None:
    """Until the commit, hold each key's lock (PostgreSQL; SQLite has one writer at a time).

    ``park`` commits its job ``waiting`` and then looks for the original; ``after_accept``
    looks for waiting jobs before its transaction (with the original) commits. Without a lock,
    on several connections both looks could come before the other's commit: neither saw the
    other, and the change waited for ever. Sorted, so two transactions never wait on each other.
    """
    if keys and s.get_bind().dialect.name == "postgresql":
        for key in sorted({key for key in keys if key}):
            s.execute(_LOCK_KEY, {"space": _KEY_LOCKS, "key": key})


def after_accept(s: Session, *, inbox_id: int | None, job_id: int, message: Message,
                 new: list[Document], refdata: ReferenceData) -> None:
    keys = sorted({row.business_key for row in new})
    _lock_keys(s, keys)  # before the look for waiting changes: a change being parked commits first, or finds these
    record_ship_notice_orders(s, new)
    for row in new:
        if row.document_type == "purchase_order" and row.revision not in ("0", ""):
            s.execute(update(Document).where(Document.business_key == row.business_key,
                                             Document.document_type == row.document_type,
                                             Document.id != row.id, Document.status.in_(("accepted", "delivered")))
                      .values(status="superseded"))
    if keys:
        woken = list(s.scalars(_WAITING, {"keys": keys}))
        if woken:
            s.execute(update(Job).where(Job.id.in_(woken)).values(status="queued", next_attempt_at=utcnow()))
            for case in s.scalars(select(Case).where(Case.job_id.in_(woken), Case.status.in_(("open", "assigned")),
                                                    Case.type == "revision_waiting_for_original")):
                case.status, case.resolution, case.resolved_at = "resolved", "apply_change_as_new", utcnow()
                event(s, case, actor="crossdock", action="resolve", reason="the original arrived",
                      details={"inbox_id": inbox_id})
    found = message.meta.get("auto_cases") or []
    if found:
        first = new[0].id if new else None
        open_cases(s, found, partner_id=message.partner_id, refdata=refdata, job_id=job_id,
                   inbox_id=inbox_id, document_id=first)


def open_found(s: Session, *, outcome: Outcome, partner_id: str | None, job_id: int, inbox_id: int | None,
               refdata: ReferenceData) -> list[int] | None:
    """Cases for a ``CasesFound`` outcome; ``None`` for any other business exception."""
    if not isinstance(outcome.error, CasesFound):
        return None
    return open_cases(s, outcome.error.found, partner_id=partner_id, refdata=refdata, job_id=job_id,
                      inbox_id=inbox_id)
