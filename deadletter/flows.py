"""Multi-step dead-letter operations: edit-and-replay, bulk replay, pausing a partner.

* **Edit and replay**: the edited payload (raw bytes, or the canonical JSON) becomes a new
  inbox row linked to the original; the original raw stays untouched. The dead letter and
  its job keep their identity (same ids), the job now reads the edited row and goes through
  every stage again, duplicates included. The diff, the editor and the reason are kept.
* **Bulk replay**: a filter (partner, type, error code, stage, time range) selects open
  dead letters; ``dry_run`` only counts. Jobs are released at ``rate`` per second in the
  order they were first received, so documents of one business key keep their order.
* **Pause/resume**: a paused partner's jobs stay queued until it is resumed.

Usage:
    edit_and_replay(s, dl, actor="apikey:ops", reason="fix date", raw=b"...")
    bulk_replay(s, BulkFilter(partner_id="ACME"), actor=..., reason=..., rate=50, dry_run=True)
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from deadletter.service import DeadLetterStateError, replay
from hub.storage.audit import record_audit
from hub.storage.ops_tables import DeadLetterEdit
from hub.storage.tables import DeadLetter, InboxEntry, Job, Partner, utcnow

__all__ = ["BulkFilter", "BulkResult", "bulk_replay", "edit_and_replay", "set_paused"]


def _text(raw: bytes) -> list[str]:
    return raw.decode("utf-8", errors="replace").splitlines(keepends=True)


def edit_and_replay(session: Session, dl: DeadLetter, *, actor: str, reason: str, original: bytes,
                    raw: bytes | None = None, canonical: dict[str, Any] | list[Any] | None = None) -> int:
    """Replace what the job reads with an edited payload and replay it; returns the job id."""
    if (raw is None) == (canonical is None):
        raise DeadLetterStateError("give either the edited raw payload or the edited canonical JSON")
    if not reason or len(reason.strip()) < 3:
        raise DeadLetterStateError("an edit needs a reason")
    if dl.status in ("discarded", "resolved"):
        raise DeadLetterStateError(f"dead letter {dl.id} is {dl.status}; it cannot be edited")
    old = session.get(InboxEntry, dl.inbox_id) if dl.inbox_id is not None else None
    if old is None:
        raise DeadLetterStateError(f"dead letter {dl.id} has no received payload to edit")
    kind = "raw" if raw is not None else "canonical"
    body = raw if raw is not None else json.dumps(canonical, indent=2, sort_keys=True).encode()
    diff = "".join(difflib.unified_diff(_text(original), _text(body), f"receipt {old.id}", "edited"))
    entry = InboxEntry(partner_id=old.partner_id, channel=old.channel, document_type=old.document_type,
                       content_type="application/json" if kind == "canonical" else old.content_type,
                       filename=old.filename, sha256=hashlib.sha256(body).hexdigest(), size=len(body), raw=body,
                       correlation_id=old.correlation_id, status="received",
                       meta={**old.meta, "edited_from": old.id, "dead_letter_id": dl.id,
                             **({"format": "canonical"} if kind == "canonical" else {})})
    session.add(entry)
    session.flush()
    session.add(DeadLetterEdit(dead_letter_id=dl.id, editor=actor, reason=reason.strip(), kind=kind,
                               from_inbox_id=old.id, to_inbox_id=entry.id, diff=diff))
    session.execute(update(Job).where(Job.id == dl.job_id).values(inbox_id=entry.id))
    session.execute(update(InboxEntry).where(InboxEntry.id == old.id).values(status="edited"))
    dl.inbox_id = entry.id
    record_audit(session, actor=actor, action="deadletter.edit", target_type="dead_letter", target_id=dl.id,
                 reason=reason.strip(), details={"kind": kind, "from_receipt": old.id, "to_receipt": entry.id,
                                                 "diff": diff[:4000]})
    return replay(session, dl, actor=actor, reason=f"after edit: {reason.strip()}")


@dataclass(frozen=True, slots=True)
class BulkFilter:
    partner_id: str | None = None
    document_type: str | None = None
    error_code: str | None = None
    stage: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class BulkResult:
    count: int
    dead_letter_ids: list[int]
    job_ids: list[int]
    seconds: float  # how long the release takes at the rate


def bulk_replay(session: Session, flt: BulkFilter, *, actor: str, reason: str | None, rate: float = 10.0,
                dry_run: bool = False, limit: int = 10_000) -> BulkResult:
    """Replay every open dead letter the filter selects, ``rate`` per second, oldest receipt first."""
    if rate <= 0:
        raise DeadLetterStateError("rate must be positive")
    stmt = select(DeadLetter).where(DeadLetter.status == "open")
    for column, value in ((DeadLetter.partner_id, flt.partner_id), (DeadLetter.document_type, flt.document_type),
                          (DeadLetter.error_code, flt.error_code), (DeadLetter.stage, flt.stage)):
        if value:
            stmt = stmt.where(column == value)
    if flt.since:
        stmt = stmt.where(DeadLetter.created_at >= flt.since)
    if flt.until:
        stmt = stmt.where(DeadLetter.created_at < flt.until)
    rows = list(session.scalars(stmt.order_by(DeadLetter.inbox_id, DeadLetter.id).limit(limit)))
    seconds = len(rows) / rate
    if dry_run:
        return BulkResult(len(rows), [r.id for r in rows], [], seconds)
    start = utcnow()
    ids = [r.id for r in rows]
    job_ids = [r.job_id for r in rows]
    for chunk in range(0, len(ids), 500):  # set-based: a thousand replays are a few statements
        part = ids[chunk:chunk + 500]
        session.execute(update(DeadLetter).where(DeadLetter.id.in_(part), DeadLetter.status == "open")
                        .values(status="replaying", replay_count=DeadLetter.replay_count + 1),
                        execution_options={"synchronize_session": False})
        inbox = [r.inbox_id for r in rows[chunk:chunk + 500] if r.inbox_id is not None]
        session.execute(update(InboxEntry).where(InboxEntry.id.in_(inbox)).values(status="received"),
                        execution_options={"synchronize_session": False})
    payloads: dict[int, dict[str, Any]] = dict(
        session.execute(select(Job.id, Job.payload).where(Job.id.in_(job_ids))).tuples().all())
    when = start.isoformat()
    session.execute(update(Job), [
        {"id": job_id, "status": "queued", "attempts": 0, "finished_at": None,
         "next_attempt_at": start + timedelta(seconds=i / rate),
         "payload": {**payloads.get(job_id, {}), "retry_from": when}} for i, job_id in enumerate(job_ids)])
    record_audit(session, actor=actor, action="deadletter.bulk_replay", target_type="dead_letter", target_id=None,
                 reason=reason, details={"count": len(rows), "rate": rate, "dead_letter_ids": ids, "filter": {
                     k: v.isoformat() if isinstance(v, datetime) else v
                     for k, v in _vars(flt).items() if v is not None}})
    return BulkResult(len(rows), ids, job_ids, seconds)


def _vars(flt: BulkFilter) -> dict[str, Any]:
    return {name: getattr(flt, name) for name in BulkFilter.__slots__}


def set_paused(session: Session, partner_id: str, *, paused: bool, actor: str, reason: str | None) -> int:
    """Pause or resume a partner's processing; returns how many of its jobs are waiting."""
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise DeadLetterStateError(f"no partner {partner_id!r}")
    partner.paused = paused
    record_audit(session, actor=actor, action="partner.pause" if paused else "partner.resume",
                 target_type="partner", target_id=partner_id, reason=reason)
    if not paused:  # due now: the sweep takes them at once
        session.execute(update(Job).where(Job.partner_id == partner_id, Job.status == "queued")
                        .values(next_attempt_at=utcnow()))
    return len(list(session.scalars(select(Job.id).where(Job.partner_id == partner_id,
                                                         Job.status.in_(("queued", "retrying"))))))
