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
from typing import Any, cast

import structlog
from sqlalchemy import (
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from hub.storage.db import Database
from hub.storage.tables import Job, Partner, unread, utcnow

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
    s.execute(_SET_PUBLISHED_OPEN, {"b_id": job_id, "published_at": HANDED_BACK})


# Built once, on the table: the sweep runs every second in every serve and the scheduler, and
# the serve marks each burst it publishes; building these statements cost more than running them.
_JOBS = cast(Table, Job.__table__)
_PARTNERS = cast(Table, Partner.__table__)
_OPEN_SQL: list[Any] = [literal_column(f"'{state}'") for state in OPEN]
_SET_PUBLISHED_OPEN = update(_JOBS).where(_JOBS.c.id == bindparam("b_id"), _JOBS.c.status.in_(_OPEN_SQL))
_MARK = update(_JOBS).where(_JOBS.c.id.in_(bindparam("ids", expanding=True))).values(published_at=bindparam("now"))
_MARK_NEW = (update(_JOBS)
             .where(_JOBS.c.id.in_(bindparam("ids", expanding=True)), _JOBS.c.status == literal_column("'queued'"),
                    _JOBS.c.attempts == 0, _JOBS.c.published_at.is_distinct_from(bindparam("handed_back")))
             .values(published_at=bindparam("now")))


def _due() -> Select[int, str]:
    """The jobs a sweep publishes, at most ``limit``, for ``now`` and the two cut-offs before it."""
    job = _JOBS.c
    earlier = _JOBS.alias("earlier")
    ingest = _JOBS.alias("ingest")
    now: Any = bindparam("now")
    mine, theirs = func.coalesce(job.inbox_id, 0), func.coalesce(earlier.c.inbox_id, 0)
    earlier_same_key = exists().where(
        earlier.c.ordering_key == job.ordering_key, earlier.c.status.in_(_OPEN_SQL),
        or_(theirs < mine, and_(theirs == mine, earlier.c.id < job.id)))
    unparsed_earlier_receipt = exists().where(  # by ix_jobs_unread
        unread(ingest), ingest.c.partner_id == job.partner_id, ingest.c.inbox_id < job.inbox_id)
    paused = exists().where(_PARTNERS.c.id == job.partner_id, _PARTNERS.c.paused.is_(True))
    # A delivery, and any job a worker handed back, waits for the partner's earlier receipts.
    waits_for_receipts = or_(job.kind == literal_column("'deliver'"),
                             job.published_at.is_not_distinct_from(bindparam("handed_back")))
    return (
        select(job.id, job.kind)
        .where(job.status.in_(_OPEN_SQL), job.next_attempt_at <= now,
               or_(and_(job.published_at.is_(None),
                        or_(job.kind != literal_column("'ingest'"), job.attempts > 0,  # a worker ran it: not its serve's
                            job.created_at < bindparam("grace_before"))),
                   job.published_at < job.next_attempt_at,
                   job.published_at < bindparam("republish_before")),
               or_(job.ordering_key.is_(None), ~earlier_same_key),
               or_(~waits_for_receipts, ~unparsed_earlier_receipt),
               ~paused)
        .order_by(job.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=_JOBS)
    )


_DUE = _due()


class Relay:
    """Publishes what is due; ``publish(job_id, kind)`` must raise if the broker did not confirm."""

    def __init__(self, db: Database, *, publish: Callable[[int, str], None], republish_after: float,
                 batch: int = 100) -> None:
        self.db = db
        self.publish = publish
        self.republish_after = republish_after
        self.batch = batch

    def due(self, s: Session) -> list[tuple[int, str]]:
        """The jobs due now (at most ``batch``), locked for this transaction (``SKIP LOCKED``)."""
        now = utcnow()
        rows = s.execute(_DUE, {
            "now": now, "grace_before": now - timedelta(seconds=INGEST_GRACE_SECONDS),
            "republish_before": now - timedelta(seconds=self.republish_after),
            "handed_back": HANDED_BACK, "limit": self.batch})
        return [(job_id, kind) for job_id, kind in rows]

    def sweep(self) -> int:
        """Publish every due job (one batch); returns how many were published.

        Publish first, then mark, in the transaction that holds the rows (``SKIP LOCKED``, so
        other relays pass them by): a crash before the commit leaves them unmarked and the next
        sweep publishes them again. Batches are small, so a worker that finishes one of these
        jobs before the commit waits only briefly for the row.
        """
        published: list[int] = []
        with self.db.session() as s:
            rows = self.due(s)
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
            s.execute(_MARK, {"ids": ids, "now": utcnow()})

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
                s.execute(_MARK_NEW, {"ids": ids, "now": utcnow(), "handed_back": HANDED_BACK})

    def release(self, job_id: int) -> None:
        """Forget that a job was handed out, so the next sweep publishes it again."""
        with self.db.session() as s:
            s.execute(_SET_PUBLISHED_OPEN, {"b_id": job_id, "published_at": None})
