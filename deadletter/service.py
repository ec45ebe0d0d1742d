"""Dead-letter operations: plain functions over an explicit session, every change audited."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from deadletter.models import DeadLetterDetail, DeadLetterRead
from hub.storage.audit import record_audit
from hub.storage.tables import Attempt, DeadLetter, InboxEntry, Job, utcnow

__all__ = ["DeadLetterStateError", "detail", "discard", "get", "list_dead_letters", "replay"]


class DeadLetterStateError(Exception):
    """The dead letter is not in a state that allows the operation (e.g. discarded)."""


def list_dead_letters(session: Session, *, status: str | None = "open", partner_id: str | None = None,
                      stage: str | None = None, error_code: str | None = None, limit: int = 50,
                      before_id: int | None = None) -> Sequence[DeadLetter]:
    stmt = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(DeadLetter.status == status)
    if partner_id:
        stmt = stmt.where(DeadLetter.partner_id == partner_id)
    if stage:
        stmt = stmt.where(DeadLetter.stage == stage)
    if error_code:
        stmt = stmt.where(DeadLetter.error_code == error_code)
    if before_id:
        stmt = stmt.where(DeadLetter.id < before_id)
    return session.scalars(stmt).all()


def get(session: Session, dead_letter_id: int) -> DeadLetter | None:
    return session.get(DeadLetter, dead_letter_id)


def detail(session: Session, dl: DeadLetter, *, raw: bytes | None) -> DeadLetterDetail:
    out = DeadLetterDetail.model_validate({**DeadLetterRead.model_validate(dl).model_dump(), "details": dl.details})
    if dl.inbox_id is not None:
        entry = session.get(InboxEntry, dl.inbox_id)
        if entry is not None:
            out.channel, out.received_at, out.raw_size = entry.channel, entry.received_at, entry.size
    if raw is not None:
        try:
            out.raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            out.raw_base64 = base64.b64encode(raw).decode()
    attempts = session.scalars(select(Attempt).where(Attempt.job_id == dl.job_id).order_by(Attempt.id))
    out.attempt_log = [
        {"number": a.number, "at": a.started_at.isoformat(), "stage": a.stage, "outcome": a.outcome,
         "error_code": a.error_code, "error": a.error, "duration_ms": a.duration_ms} for a in attempts
    ]
    return out


def replay(session: Session, dl: DeadLetter, *, actor: str, reason: str | None) -> int:
    """Put the dead letter's job back in the queue with a fresh retry budget; returns the job id.

    Replaying is safe to repeat: the job runs through every check again, and documents are
    unique by idempotency key, so a replay never produces a second document or delivery.
    """
    if dl.status == "discarded":
        raise DeadLetterStateError(f"dead letter {dl.id} was discarded; it cannot be replayed")
    if dl.status == "resolved":
        raise DeadLetterStateError(f"dead letter {dl.id} is already resolved")
    # Claimed atomically: a second replay while the first is under way (a double click, two
    # operators) is refused instead of running the job twice at once.
    claimed = session.execute(update(DeadLetter).where(  # type: ignore[attr-defined]  # DML rowcount
        DeadLetter.id == dl.id, DeadLetter.status.in_(("open", "poisoned"))).values(status="replaying")).rowcount
    if not claimed:
        raise DeadLetterStateError(f"dead letter {dl.id} is being replayed already (job {dl.job_id})")
    job = session.get(Job, dl.job_id)
    assert job is not None
    payload: dict[str, Any] = {**job.payload, "retry_from": utcnow().isoformat()}
    session.execute(update(Job).where(Job.id == job.id).values(
        status="queued", attempts=0, next_attempt_at=utcnow(), finished_at=None, payload=payload))
    dl.status = "replaying"
    dl.replay_count += 1
    if dl.inbox_id is not None:
        session.execute(update(InboxEntry).where(InboxEntry.id == dl.inbox_id).values(status="received"))
    record_audit(session, actor=actor, action="deadletter.replay", target_type="dead_letter",
                 target_id=dl.id, reason=reason, details={"job_id": job.id, "replay_count": dl.replay_count})
    return job.id


def discard(session: Session, dl: DeadLetter, *, actor: str, reason: str) -> None:
    if dl.status in ("discarded", "resolved"):
        raise DeadLetterStateError(f"dead letter {dl.id} is already {dl.status}")
    if not reason or len(reason.strip()) < 3:
        raise DeadLetterStateError("a discard needs a reason")
    dl.status = "discarded"
    dl.resolved_at = utcnow()
    session.execute(update(Job).where(Job.id == dl.job_id).values(status="cancelled"))
    record_audit(session, actor=actor, action="deadletter.discard", target_type="dead_letter",
                 target_id=dl.id, reason=reason.strip(), details={"job_id": dl.job_id})
