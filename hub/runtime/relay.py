"""The outbox relay: hands committed jobs to the broker, in key order, so nothing is lost.

A job row is committed before anyone publishes it, so a crash between the commit and the
publish leaves a row with ``published_at`` empty; the relay finds it and publishes it. The
same sweep re-publishes a retry once ``next_attempt_at`` has come (the hub's own retry
policy, never the broker's), and a job handed out so long ago (``republish_after``) that its
message must be gone. Publishing twice is harmless: ``Processor.process`` finishes a job
only once (same attempt count), and documents have a unique idempotency key.

A worker that takes a job which must wait (an older job of its key, an earlier receipt of its
partner not read yet, a paused partner) hands it back: ``published_at`` becomes
:data:`HANDED_BACK`, a time before any publish. The sweep publishes such a job again as soon
as nothing holds it up, and the first publish of a job never overwrites the mark, so a worker
that took the message before its serve marked it published does not leave the job
waiting for ``republish_after``. Nor does the serve's mark overwrite an attempt a worker has
finished meanwhile (a change parked for its original and woken again, a retry): such a job
keeps ``published_at`` empty and the sweep publishes it as soon as it is due, without the
ingest grace (its first message was taken already).

Per-key ordering is decided here, not in the broker: a job with an ``ordering_key`` (a
deliver job carries its document's business key) is published only once every earlier job
with that key (by receipt, then job id) has finished, and a deliver job also waits while an
earlier receipt of the same partner has not been parsed yet (its key may be the same). So
one key's jobs run one after another on any number of workers, different keys in parallel.
A paused partner's jobs are not published at all; a worker that finds one paused hands it
back unpublished, so the first sweep after the resume publishes it.

Several relays (every ``serve`` and the scheduler) may sweep at once: rows are taken with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL.

Usage:
    relay = Relay(db, publish=lambda job_id, kind: ..., republish_after=300)
    relay.sweep()              # from a scheduler tick
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import Select, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from hub.storage.db import Database
from hub.storage.tables import Job, Partner, utcnow

__all__ = ["HANDED_BACK", "INGEST_GRACE_SECONDS", "Relay", "hand_back"]

log = structlog.get_logger("crossdock.relay")
OPEN = ("queued", "retrying")
# An ingest job is published by its ``serve`` right after the commit; the sweep leaves it
# that long before it assumes the process died between commit and publish (a backlog in the
# publisher must not turn into a second copy of every message).
INGEST_GRACE_SECONDS = 30.0
# ``published_at`` of a job a worker handed back unprocessed: earlier than any real publish.
HANDED_BACK = datetime(2000, 1, 1, tzinfo=UTC)


def hand_back(s: Session, job_id: int) -> None:
    """A worker took ``job_id`` but it must wait: the sweep publishes it again once it may run."""
    s.execute(update(Job).where(Job.id == job_id, Job.status.in_(OPEN)).values(published_at=HANDED_BACK))


class Relay:
    """Publishes what is due; ``publish(job_id, kind)`` must raise if the broker did not confirm."""

    def __init__(self, db: Database, *, publish: Callable[[int, str], None], republish_after: float,
                 batch: int = 100) -> None:
        self.db = db
        self.publish = publish
        self.republish_after = republish_after
        self.batch = batch

    def due(self) -> Select[int, str]:
        now = utcnow()
        earlier = aliased(Job)
        ingest = aliased(Job)
        mine, theirs = func.coalesce(Job.inbox_id, 0), func.coalesce(earlier.inbox_id, 0)
        earlier_same_key = exists().where(
            earlier.ordering_key == Job.ordering_key, earlier.status.in_(OPEN),
            or_(theirs < mine, and_(theirs == mine, earlier.id < Job.id)))
        unparsed_earlier_receipt = exists().where(
            ingest.kind == "ingest", ingest.partner_id == Job.partner_id, ingest.status == "queued",
            ingest.attempts == 0, ingest.inbox_id < Job.inbox_id)
        paused = exists().where(Partner.id == Job.partner_id, Partner.paused.is_(True))
        # A delivery, and any job a worker handed back, waits for the partner's earlier receipts.
        waits_for_receipts = or_(Job.kind == "deliver", Job.published_at.is_not_distinct_from(HANDED_BACK))
        return (
            select(Job.id, Job.kind)
            .where(Job.status.in_(OPEN), Job.next_attempt_at <= now,
                   or_(and_(Job.published_at.is_(None),
                            or_(Job.kind != "ingest", Job.attempts > 0,  # a worker ran it: not its serve's to publish
                                Job.created_at < now - timedelta(seconds=INGEST_GRACE_SECONDS))),
                       Job.published_at < Job.next_attempt_at,
                       Job.published_at < now - timedelta(seconds=self.republish_after)),
                   or_(Job.ordering_key.is_(None), ~earlier_same_key),
                   or_(~waits_for_receipts, ~unparsed_earlier_receipt),
                   ~paused)
            .order_by(Job.id)
            .limit(self.batch)
            .with_for_update(skip_locked=True, of=Job)
        )

    def sweep(self) -> int:
        """Publish every due job (one batch); returns how many were published.

        Publish first, then mark, in the transaction that holds the rows (``SKIP LOCKED``, so
        other relays pass them by): a crash before the commit leaves them unmarked and the next
        sweep publishes them again. Batches are small, so a worker that finishes one of these
        jobs before the commit waits only briefly for the row.
        """
        published: list[int] = []
        with self.db.session() as s:
            rows = s.execute(self.due()).all()
            try:
                for job_id, kind in rows:
                    self.publish(job_id, kind)
                    published.append(job_id)
            finally:  # what the broker confirmed is marked, even if it failed half way
                self.mark(s, published)
        if rows:
            log.debug("relay.published", count=len(published), due=len(rows))
        return len(published)

    @staticmethod
    def mark(s: Session, job_ids: Iterable[int]) -> None:
        ids = list(job_ids)
        if ids:
            s.execute(update(Job).where(Job.id.in_(ids)).values(published_at=utcnow()))

    def mark_published(self, job_ids: Iterable[int]) -> None:
        """After a serve published new jobs: mark them, except any a worker got to meanwhile.

        A worker may take the message before this mark: a job it handed back keeps
        :data:`HANDED_BACK`, and one with an attempt finished (``attempts`` > 0: parked and
        woken, or retrying) keeps what the worker wrote. Marked now, such a job looked handed
        out after its ``next_attempt_at`` and the sweep left it alone for ``republish_after``.
        """
        ids = list(job_ids)
        if ids:
            with self.db.session() as s:
                s.execute(update(Job).where(Job.id.in_(ids), Job.status == "queued", Job.attempts == 0,
                                            Job.published_at.is_distinct_from(HANDED_BACK))
                          .values(published_at=utcnow()))

    def release(self, job_id: int) -> None:
        """Forget that a job was handed out, so the next sweep publishes it again."""
        with self.db.session() as s:
            s.execute(update(Job).where(Job.id == job_id, Job.status.in_(OPEN)).values(published_at=None))
