"""Process one job and persist its outcome: the same code in embedded and distributed mode.

Exactly-once rests on the database, not on the queue: the final write of a job is one
transaction that (a) flips the job from queued/retrying to its end state only if nobody
else did (same attempt count), (b) inserts the documents (a unique idempotency key makes a
racing duplicate a no-op), (c) writes the outbox (``deliver`` jobs) for them. A crash
before the commit leaves the job queued; after it, nothing is redone.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

import structlog
from sqlalchemy import (
    Connection,
    Integer,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from canonical.documents import PurchaseOrder
from canonical.errors import BusinessException, CrossdockError
from connectors.formats import sniff
from hub.delivery import deliver
from hub.edi.record import record_edi
from hub.inbox import BlobStore
from hub.metrics import Metrics
from hub.ops import hooks as ops_hooks
from hub.ops.refdata import DbReferenceData
from hub.partners import partner_dict
from hub.runtime.relay import hand_back
from hub.settings import Settings
from hub.stages import INGEST_STAGES
from hub.storage.db import Database
from hub.storage.tables import (
    Attempt,
    Case,
    DeadLetter,
    Document,
    InboxEntry,
    Job,
    Resend,
    unread,
    utcnow,
)
from pipelines.classify import Action, Resolution, classify, rules_from_data
from pipelines.exceptions.detectors.orders import order_fingerprint
from pipelines.retry import RetryPolicy
from pipelines.runner import Message, Outcome, run_stages

__all__ = ["HubContext", "Processor", "policy_from_settings"]

log = structlog.get_logger("crossdock.processing")
OPEN_STATES = ("queued", "retrying")


def policy_from_settings(settings: Settings) -> RetryPolicy:
    return RetryPolicy(max_attempts=settings.retry_max_attempts, initial=settings.retry_initial_seconds,
                       max_wait=settings.retry_max_seconds, max_age=settings.retry_max_age_seconds,
                       retry_after_cap=settings.retry_after_cap_seconds)


class HubContext:
    """What stages may ask the hub (implements ``pipelines.runner.StageContext``)."""

    def __init__(self, db: Database, *, cache_seconds: float = 2.0) -> None:
        self.db = db
        self.refdata = DbReferenceData(db)
        self._cache: dict[str, tuple[float, dict[str, Any] | None]] = {}
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()

    def partner(self, partner_id: str) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(partner_id)
            if hit and now - hit[0] < self._cache_seconds:
                return hit[1]
        with self.db.reader() as s:
            profile = partner_dict(s, partner_id)
        if profile is not None:  # not cached when unknown: a partner added on another node counts at once
            with self._lock:
                self._cache[partner_id] = (now, profile)
        return profile

    def forget(self, partner_id: str | None = None) -> None:
        with self._lock:
            if partner_id is None:
                self._cache.clear()
            else:
                self._cache.pop(partner_id, None)

    def find_document(self, idempotency_key: str) -> int | None:
        with self.db.read_connection() as conn:
            return conn.scalar(FIND_DOCUMENT, {"key": idempotency_key})

    def now(self) -> datetime:
        return utcnow()


@dataclass(slots=True)
class _Snapshot:
    job_id: int
    kind: str
    attempts: int
    partner_id: str | None
    inbox_id: int | None
    document_id: int | None
    payload: dict[str, Any]
    received_at: datetime
    inbox_values: dict[str, Any] | None = None  # the receipt's new status and outcome, written last


@dataclass(frozen=True, slots=True)
class _Earlier:
    """What ``_load`` answers for an interchange whose partner sent another before it, not read yet."""

    job_id: int


_LATER = "later"  # process_many: not in the batch, run on its own after it
WAIT_FOR_EARLIER_SECONDS = 30.0  # how long a job waits for an earlier interchange another thread reads
BATCH_SECONDS = 0.05  # a batch holds the process's write turn: it takes no new job after this long
# PostgreSQL has no write turn (row locks): a batch there bounds only what a rollback redoes and
# how long the first job's outcome waits for its commit
PG_BATCH_SECONDS = 0.5
_LATER_MESSAGE = Message(0, "", "", b"")


class Processor:
    """Usage: ``Processor(db, settings, blobs=..., metrics=...).process(job_id)``."""

    def __init__(self, db: Database, settings: Settings, *, blobs: BlobStore, metrics: Metrics,
                 notify: Callable[[int], None] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.blobs = blobs
        self.metrics = metrics
        self.notify = notify
        self.policy = policy_from_settings(settings)
        self.context = HubContext(db)
        self.worker = f"{socket.gethostname()}:{threading.get_native_id()}"
        # Jobs a thread of this process has taken, so another thread neither runs them twice nor
        # runs a partner's later interchange before them (see ``_read_earlier_first``).
        self._taken: dict[int, int] = {}  # job id -> the thread that took it
        self._released = threading.Condition()
        self._batching: set[int] = set()  # threads inside ``process_many`` (they may be handed jobs)
        self._handoff: dict[int, list[int]] = {}  # thread -> jobs handed to it (``_settle``)

    # ------------------------------------------------------------------ entry point
    def process(self, job_id: int) -> str:
        """Run one job; returns its new status, or ``skipped`` if it was not open."""
        if not self._take([job_id]):
            return "skipped"  # another thread of this process runs it
        try:
            finished: list[tuple[str, str, int | None]] = []
            status = self._run(job_id, finished)
            self._announce(finished)
            return status
        finally:
            self._release([job_id])

    def _take(self, job_ids: list[int]) -> list[int]:
        """The ids no other thread of this process has taken, now taken by this one."""
        me = threading.get_ident()
        with self._released:
            mine = [job_id for job_id in job_ids if self._taken.get(job_id, me) == me]
            self._taken.update(dict.fromkeys(mine, me))
            return mine

    def _release(self, job_ids: list[int]) -> None:
        """After the outcomes are committed: threads waiting for one of these may go on."""
        with self._released:
            for job_id in job_ids:
                self._taken.pop(job_id, None)
            self._released.notify_all()

    def process_many(self, job_ids: list[int]) -> list[str]:
        """Run several jobs with one commit for all their outcomes (on SQLite a lone job too: its
        reads then share one connection; on PostgreSQL, where a lone job runs as ``process``, a
        distributed worker's message of several jobs and an embedded runtime's batch).

        The ingest jobs run one after the other inside one write transaction
        (``Database.batch``): each reads what the ones before it wrote and writes its outcome
        in a savepoint, exactly as if each had committed on its own, and one commit then makes
        them all durable; waiters are told and metrics counted only after it. A batch takes no
        new job once it has run for BATCH_SECONDS (the rest go in the next one). Any other job (a
        delivery waits on the network; a payload in the blob store is big) runs on its own after
        the commit. If anything goes wrong inside a batch, it is rolled back whole and every job
        of it runs again on its own, so a bad job fails alone and none is lost or done twice. A
        job that raises is logged as ``job.crashed`` and stays open (the sweep brings it back),
        as before. Returns each job's status (``crashed`` for one that raised).
        """
        if self.db.in_batch or (not self.db.is_sqlite and len(job_ids) < 2):
            return [self._process_logged(job_id) for job_id in job_ids]
        statuses: dict[int, str] = dict.fromkeys(job_ids, "skipped")  # another thread runs any not taken here
        me = threading.get_ident()
        with self._released:
            self._batching.add(me)
        pending = sorted(self._take(job_ids))  # in the order they came (a partner's interchanges are read in turn)
        alone: list[int] = []
        try:
            retried = False
            while pending:
                later: list[int] = []
                waits: dict[int, int] = {}  # a job put back -> the earlier interchange it waits for
                rest = pending
                while rest:
                    done = self._batch(rest, statuses, later, waits)
                    rest = rest[done:]
                pending, more = self._settle(pending, later, waits, retry=not retried)
                alone += more
                retried = retried or bool(set(pending) & set(later))
        finally:
            with self._released:  # the batches are committed (or rolled back): a waiting thread may look again
                self._batching.discard(me)
                for job_id in self._handoff.pop(me, []):  # handed over after the last look: run alone below
                    alone.append(job_id)
                for job_id in pending:
                    if job_id not in alone:
                        self._taken.pop(job_id, None)
                self._released.notify_all()
        for job_id in alone:
            self._release([job_id])
            statuses[job_id] = self._process_logged(job_id)
        return [statuses[job_id] for job_id in job_ids]

    def _settle(self, ran: list[int], later: list[int], waits: dict[int, int], *,
                retry: bool) -> tuple[list[int], list[int]]:
        """After a round of batches: release what ran, hand each job put back to the thread that
        reads the earlier interchange it waits for, and take what other threads handed here.

        A burst of one partner's interchanges split over two threads would otherwise be read
        one transaction at a time (each job waiting for the other thread's); handed over, the
        thread that reads a partner's interchanges reads the next ones in its next batch. Returns
        (the jobs for this thread's next round, the jobs to run alone). The hand-over happens
        under the same lock as that thread's last look at what it was handed
        (``process_many``), so a job handed over is never left behind.
        """
        me = threading.get_ident()
        deferred = set(later)
        again: list[int] = []
        alone: list[int] = []
        with self._released:
            for job_id in ran:
                if job_id not in deferred:
                    self._taken.pop(job_id, None)
            for job_id in later:
                holder = self._taken.get(waits.get(job_id, -1))
                if holder is not None and holder != me and holder in self._batching:
                    self._taken[job_id] = holder
                    self._handoff.setdefault(holder, []).append(job_id)
                elif retry and job_id in waits:
                    again.append(job_id)  # what it waited for is read (or nobody holds it): once more in a batch
                else:
                    alone.append(job_id)
            again.extend(self._handoff.pop(me, []))
            self._released.notify_all()
        return sorted(again), alone

    def _batch(self, job_ids: list[int], statuses: dict[int, str], later: list[int], waits: dict[int, int]) -> int:
        """One write transaction for the first of ``job_ids``, until BATCH_SECONDS have passed (on
        SQLite the other writers of the process wait meanwhile; PG_BATCH_SECONDS on PostgreSQL);
        returns how many it took. A job put back for
        an earlier interchange goes to ``later``, and ``waits`` says which one it waits for."""
        finished: list[tuple[str, str, int | None]] = []
        taken: dict[int, str] = {}
        deferred: list[int] = []
        try:
            with self.db.batch():
                deadline = time.monotonic() + (BATCH_SECONDS if self.db.is_sqlite else PG_BATCH_SECONDS)
                for job_id in job_ids:
                    status = self._run(job_id, finished, ingest_only=True, waits=waits)
                    if status == _LATER:
                        deferred.append(job_id)
                    else:
                        taken[job_id] = status
                    if time.monotonic() > deadline:
                        break
        except Exception as error:  # rolled back whole: each job again on its own
            count = len(taken) + len(deferred) + 1
            log.warning("batch.rolled_back", jobs=count, error=str(error)[:300])
            for job_id in job_ids[:count]:
                statuses[job_id] = self._process_logged(job_id)
            return count
        self._announce(finished)
        statuses.update(taken)
        later.extend(deferred)
        return len(taken) + len(deferred)

    def _process_logged(self, job_id: int) -> str:
        try:
            return self.process(job_id)
        except Exception:  # the job stays open and is swept again; never lost
            log.exception("job.crashed", job_id=job_id)
            return "crashed"

    def _announce(self, finished: list[tuple[str, str, int | None]]) -> None:
        """After the commit: metrics and the requests waiting for these receipts."""
        for kind, status, inbox_id in finished:
            self.metrics.outcomes.labels(kind, status).inc()
            if status != "skipped" and inbox_id is not None and self.notify is not None:
                self.notify(inbox_id)

    def _run(self, job_id: int, finished: list[tuple[str, str, int | None]], *, ingest_only: bool = False,
             helping: bool = False, waits: dict[int, int] | None = None) -> str:
        snap, message = self._load(job_id, ingest_only=ingest_only)
        before: int | None = None
        while isinstance(message, _Earlier):  # each earlier interchange of the partner first
            # The same one again was not read (its partner is paused, say): no looping on it.
            if helping or message.job_id == before or not self._read_earlier_first(
                    job_id, message.job_id, finished):
                if ingest_only:
                    if waits is not None:
                        waits[job_id] = message.job_id
                    return _LATER
                self._hand_back(job_id)  # distributed: the relay publishes it again in turn
                return "skipped"
            before = message.job_id
            snap, message = self._load(job_id, ingest_only=ingest_only)
        if snap is None:
            return _LATER if message is _LATER_MESSAGE else "skipped"
        if message is not None and (message.partner or {}).get("paused"):
            self._hand_back(job_id)  # distributed: the relay publishes it again after the resume
            return "paused"
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(job_id=job_id, inbox_id=snap.inbox_id,
                                                     partner=snap.partner_id,
                                                     correlation_id=message.correlation_id if message else None):
            if snap.kind != "ingest" or message is None:
                if not self._lease(snap):
                    return "skipped"  # another worker holds this delivery right now
                outcome = self._deliver(snap)
                return self._finish(snap, outcome, started, finished)
            with self._reading(snap.job_id, message) as mine:
                if not mine:  # another worker reads this interchange right now
                    if helping:
                        self._wait_read(snap.job_id)
                    return "skipped"
                outcome = run_stages(INGEST_STAGES, message, self.context,
                                     overrides=self._overrides(message.partner))
                for stage, seconds in outcome.timings.items():
                    self.metrics.stage_latency.labels(stage).observe(seconds)
                return self._finish(snap, outcome, started, finished)

    def _finish(self, snap: _Snapshot, outcome: Outcome, started: float,
                finished: list[tuple[str, str, int | None]]) -> str:
        status = self._persist(snap, outcome, int((time.perf_counter() - started) * 1000))
        finished.append((snap.kind, status, snap.inbox_id))
        return status

    @contextmanager
    def _reading(self, job_id: int, message: Message) -> Iterator[bool]:
        """Distributed mode: an interchange is read by one worker at a time (yields False when
        another holds it). A partner's interchanges are read in order, so a worker may read an
        earlier one for the job in hand (``_read_earlier_first``) while the worker it was
        published to reads it too; without this both did the work and one rolled back. A
        PostgreSQL session advisory lock on the job, on a connection of its own: it goes with
        the connection if the worker dies. Within one process ``_take`` does this already, and
        only EDI is read in order, so SQLite and other payloads take no lock."""
        if self.db.is_sqlite or sniff(message.raw[:512]) is None:
            yield True
            return
        key = {"space": _READING_LOCKS, "job": job_id % 2_147_483_647}
        with self.db.read_engine.connect() as conn:  # autocommit: the lock outlives no transaction
            mine = bool(conn.execute(_TRY_READ_LOCK, key).scalar())
            try:
                yield mine
            finally:
                if mine:
                    try:
                        conn.execute(_READ_UNLOCK, key)
                    except Exception as error:  # closed instead (the lock goes with it): never back to the pool
                        log.warning("reading.unlock_failed", job_id=job_id, error=str(error)[:300])
                        conn.invalidate()

    def _wait_read(self, job_id: int) -> None:
        """Until another worker has finished reading ``job_id`` (WAIT_FOR_EARLIER_SECONDS at most)."""
        deadline = time.monotonic() + WAIT_FOR_EARLIER_SECONDS
        while time.monotonic() < deadline:
            with self.db.read_connection() as conn:
                job = conn.execute(_LOAD_JOB, {"id": job_id}).first()
            if job is None or job.status not in OPEN_STATES or job.attempts > 0:
                return
            time.sleep(0.02)

    def _hand_back(self, job_id: int) -> None:
        """A job that must wait: in distributed mode the relay publishes it again once it may run
        (the embedded runtime queues every open job at each sweep anyway)."""
        if self.settings.mode == "distributed":
            with self.db.session() as s:
                hand_back(s, job_id)

    def _read_earlier_first(self, job_id: int, earlier: int, finished: list[tuple[str, str, int | None]]) -> bool:
        """A partner's interchanges are read in the order they came: ``job_id`` waits for
        ``earlier``, the partner's first receipt not read yet. If no thread of this process has
        taken it, it is read right here, first; if one has, this thread waits until that one is
        done. A burst of one partner's interchanges is then read one after the other instead of
        each being put back until the next sweep. (Another process reading ``earlier`` at the
        same time is harmless: only one of them finishes it, see ``_persist``.) False when the
        job must go back: inside a batch, which holds the write turn the other thread needs
        (the job then runs on its own after the batch), or after WAIT_FOR_EARLIER_SECONDS."""
        if self.db.in_batch:
            return False
        if self._take([earlier]):
            try:
                self._run(earlier, finished, helping=True)
            finally:
                self._release([earlier])
            return True
        with self._released:
            deadline = time.monotonic() + WAIT_FOR_EARLIER_SECONDS
            while earlier in self._taken:
                if not self._released.wait(deadline - time.monotonic()) and time.monotonic() >= deadline:
                    return False
        return True

    def _overrides(self, partner: dict[str, Any] | None) -> tuple[Any, ...]:
        rows = (partner or {}).get("retry_rules") or []
        return rules_from_data(rows, source=f"partner {(partner or {}).get('id')}") if rows else ()

    # ----------------------------------------------------------------------- loading
    def _load(self, job_id: int, *, ingest_only: bool = False) -> tuple[_Snapshot | None, Message | _Earlier | None]:
        with self.db.read_connection() as s:
            job = s.execute(_LOAD_JOB_ENTRY, {"id": job_id}).first()  # an ingest job with its receipt
            if job is None or job.status not in OPEN_STATES:
                return None, None
            if ingest_only and job.kind != "ingest":
                return None, _LATER_MESSAGE
            snap = _Snapshot(job.id, job.kind, job.attempts, job.partner_id, job.inbox_id,
                             job.document_id, dict(job.payload), job.created_at)
            retry_from = job.payload.get("retry_from")  # a replay starts a fresh retry budget
            if retry_from:
                snap.received_at = datetime.fromisoformat(retry_from)
            if job.kind != "ingest":
                if job.ordering_key and _waits_for_earlier(s, job):
                    self._hand_back(job.id)
                    return None, None  # an older job of this business key first; the next sweep brings it back
                partner = self.context.partner(job.partner_id) if job.partner_id else None
                if partner and partner.get("paused"):
                    return snap, Message(0, job.partner_id or "", "outbox", b"", partner=partner)
                return snap, None
            assert job.e_id is not None, f"job {job_id} points at a missing inbox row"
            entry = _Entry(*(job._mapping[f"e_{name}"] for name in _Entry._fields))
            if ingest_only and entry.raw is None:  # a big payload (a blob) is read and decoded outside a batch
                return None, _LATER_MESSAGE
            raw = entry.raw if entry.raw is not None else self.blobs.read(entry.blob_path or "")
            if sniff(raw[:512]) is not None:  # a partner's interchanges are read in the order they came
                earlier = s.scalar(_EARLIEST_UNREAD, {"partner": job.partner_id, "inbox": job.inbox_id})
                if earlier is not None:
                    return None, _Earlier(earlier)
            snap.received_at = datetime.fromisoformat(retry_from) if retry_from else entry.received_at
            partner = self.context.partner(entry.partner_id)
            message = Message(
                receipt_id=entry.id, partner_id=entry.partner_id, channel=entry.channel, raw=raw,
                document_type=entry.document_type, content_type=entry.content_type,
                filename=entry.filename, correlation_id=entry.correlation_id,
                received_at=entry.received_at, meta=dict(entry.meta),
                partner={"paused": True} if partner and partner.get("paused") else None,
            )
            return snap, message

    def _lease(self, snap: _Snapshot) -> bool:
        """Take a delivery before its side effect, so two copies of its message deliver once.

        A job is published more than once on purpose (a replay's submit and the relay sweep, a
        redelivery after a lost worker); an ingest job is safe to run twice (the idempotency
        key), a delivery is not. Moving ``next_attempt_at`` past the delivery timeout claims it:
        the conditional update succeeds for one worker only, and no sweep hands it out while the
        lease runs. If that worker dies, the job is due again once the lease has passed.
        """
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.delivery_timeout_seconds * 2 + 30)
        with self.db.session() as s:
            taken = s.execute(  # type: ignore[attr-defined]  # DML results carry rowcount
                update(Job).where(Job.id == snap.job_id, Job.status.in_(OPEN_STATES),
                                  Job.attempts == snap.attempts, Job.next_attempt_at <= now)
                .values(next_attempt_at=lease)).rowcount
        return bool(taken)

    def _deliver(self, snap: _Snapshot) -> Outcome:
        message = Message(receipt_id=snap.inbox_id or 0, partner_id=snap.partner_id or "", channel="outbox", raw=b"")
        try:
            with self.db.reader() as s:
                doc = s.get(Document, snap.document_id)
                assert doc is not None, f"deliver job {snap.job_id} points at a missing document"
                canonical, key, doc_id = dict(doc.canonical), doc.idempotency_key, doc.id
            where = deliver(snap.payload["destination"], canonical, key=key, document_id=doc_id,
                            timeout=self.settings.delivery_timeout_seconds)
            message.meta["delivered_to"] = where.where
            message.meta["erp_document_number"] = where.erp_document_number
            return Outcome(message)
        except Exception as error:
            partner = self.context.partner(snap.partner_id) if snap.partner_id else None
            return Outcome(message, "deliver", error, classify(error, overrides=self._overrides(partner)))

    # ---------------------------------------------------------------------- persisting
    def _persist(self, snap: _Snapshot, outcome: Outcome, duration_ms: int) -> str:
        if ops_hooks.is_waiting(outcome):  # a change before its original: parked, not retried
            return ops_hooks.park(self.db, job_id=snap.job_id, attempts=snap.attempts, inbox_id=snap.inbox_id,
                                  payload=snap.payload, outcome=outcome, worker=self.worker,
                                  duration_ms=duration_ms)
        resolution = outcome.resolution
        action = Action.RETRY if resolution is None and not outcome.ok else (
            resolution.action if resolution else None)
        delay: float | None = None
        if action is Action.RETRY:
            assert outcome.error is not None
            elapsed = (utcnow() - snap.received_at).total_seconds()
            delay = self.policy.next_delay(attempt=snap.attempts + 1, elapsed=elapsed, error=outcome.error)
            if delay is None:
                action = Action.DEAD_LETTER
        try:
            with self.db.session() as s:
                new_status = {None: "done", Action.IGNORE: "done", Action.CASE: "done",
                              Action.RETRY: "retrying", Action.DEAD_LETTER: "dead"}[action]
                values: dict[str, Any] = {"status": new_status, "attempts": snap.attempts + 1}
                if action is Action.RETRY and delay is not None:
                    values["next_attempt_at"] = utcnow() + timedelta(seconds=delay)
                    values["last_error"] = str(outcome.error)[:2000]
                else:
                    values["finished_at"] = utcnow()
                    values["last_error"] = None if outcome.ok else str(outcome.error)[:2000]
                # Core statements on the tables (not ORM entities): this write runs once per
                # document, and the ORM's bulk-update and unit-of-work paths cost more than the SQL
                claimed = s.execute(  # type: ignore[attr-defined]  # DML results carry rowcount
                    _FINISH_JOB, {"b_job": snap.job_id, "b_attempts": snap.attempts, **values}).rowcount
                if not claimed:
                    s.rollback()
                    return "skipped"  # someone else finished this job first
                s.execute(_INSERT_ATTEMPT, dict(
                    job_id=snap.job_id, inbox_id=snap.inbox_id, number=snap.attempts + 1,
                    duration_ms=duration_ms, stage=outcome.stage,
                    outcome="ok" if outcome.ok else action.value if action else "ok",
                    error_code=resolution.code if resolution else None,
                    error=str(outcome.error)[:4000] if outcome.error else None, worker=self.worker))
                if outcome.ok:
                    self._succeeded(s, snap, outcome)
                elif action is Action.IGNORE:
                    self._already_seen(s, snap, outcome)
                elif action is Action.CASE:
                    self._open_case(s, snap, outcome)
                elif action is Action.RETRY:
                    assert resolution is not None
                    self._set_inbox(s, snap, "retrying", {"error": str(outcome.error), "stage": outcome.stage,
                                                          "next_attempt_in": delay})
                    self.metrics.retries.labels(resolution.code).inc()
                else:
                    self._dead_letter(s, snap, outcome)
                if snap.kind == "ingest" and action is not Action.RETRY:  # EDI: acks, control numbers
                    record_edi(s, job_id=snap.job_id, inbox_id=snap.inbox_id, outcome=outcome,
                               dead_lettered=action is Action.DEAD_LETTER, refdata=self.context.refdata,
                               inbox_values=snap.inbox_values)
                if snap.inbox_values is not None:  # one write of the receipt's state, with the EDI summary
                    s.execute(_SET_INBOX, {"b_id": snap.inbox_id, **snap.inbox_values})
                log.info("job.finished", kind=snap.kind, status=new_status, stage=outcome.stage,
                         error=str(outcome.error) if outcome.error else None)
                return new_status if action is not Action.IGNORE else "duplicate"
        except IntegrityError as error:  # rolled back: the job stays open for the sweep (or the relay)
            log.warning("job.persist_conflict", job_id=snap.job_id, kind=snap.kind, error=str(error)[:300])
            return "skipped"

    def _set_inbox(self, s: Session, snap: _Snapshot, status: str, outcome: dict[str, Any]) -> None:
        """The receipt's new state: written at the end of ``_persist`` (after the EDI record adds to it)."""
        if snap.kind == "ingest" and snap.inbox_id is not None:
            snap.inbox_values = {"status": status, "outcome": outcome}

    def _succeeded(self, s: Session, snap: _Snapshot, outcome: Outcome) -> None:
        if snap.attempts or "retry_from" in snap.payload:  # only a job that failed before has a dead letter
            s.execute(_RESOLVE_DEAD_LETTER, {"b_job": snap.job_id, "status": "resolved", "resolved_at": utcnow()})
        if snap.kind != "ingest":
            number = outcome.message.meta.get("erp_document_number")  # the ERP's number, same transaction
            s.execute(update(Document).where(Document.id == snap.document_id)
                      .values(status="delivered", **({"erp_document_number": number} if number else {})))
            return
        message = outcome.message
        ids: list[int] = []
        new: list[Document] = []
        for doc in message.documents:
            key = doc.idempotency_key
            if key in message.existing_ids:
                ids.append(message.existing_ids[key])
                continue
            row = Document(inbox_id=snap.inbox_id, partner_id=message.partner_id,
                           document_type=doc.document_type, idempotency_key=key,
                           business_key=doc.business_key, revision=str(doc.revision_of),
                           direction="inbound", status="accepted", canonical=message.canonical_json(doc),
                           fingerprint=order_fingerprint(doc) if isinstance(doc, PurchaseOrder) else None)
            # One statement: the unique idempotency key turns a racing twin's insert into no row
            inserted = s.scalar(_INSERT_DOCUMENT[s.get_bind().dialect.name == "postgresql"], dict(
                inbox_id=row.inbox_id, partner_id=row.partner_id, document_type=row.document_type,
                idempotency_key=key, business_key=row.business_key, revision=row.revision,
                direction=row.direction, status=row.status, canonical=row.canonical,
                fingerprint=row.fingerprint))
            if inserted is None:  # a racing twin committed first: already seen
                existing = s.scalar(FIND_DOCUMENT, {"key": key})
                assert existing is not None
                ids.append(existing)
                message.existing_ids[key] = existing  # what follows (EDI answers) treats it as seen
                continue
            row.id = inserted  # a transient row: its values, for the outbox and the hooks below
            message.stored_ids[key] = inserted
            ids.append(row.id)
            new.append(row)
        for row in new:
            for dest in (message.partner or {}).get("destinations", []):
                if dest.get("document_types") and row.document_type not in dest["document_types"]:
                    continue
                s.add(Job(kind="deliver", document_id=row.id, partner_id=message.partner_id,
                          inbox_id=snap.inbox_id, ordering_key=row.business_key, payload={"destination": dest}))
        _record_resends(s, snap, message)
        ops_hooks.after_accept(s, inbox_id=snap.inbox_id, job_id=snap.job_id, message=message, new=new,
                               refdata=self.context.refdata)
        status = "processed" if new else "duplicate"
        self._set_inbox(s, snap, status, {"document_ids": ids, "new_document_ids": [r.id for r in new],
                                          "already_seen": not new})

    def _already_seen(self, s: Session, snap: _Snapshot, outcome: Outcome) -> None:
        error = outcome.error
        details = error.details if isinstance(error, CrossdockError) else {}
        existing = details.get("existing_id")
        s.execute(update(DeadLetter).where(DeadLetter.job_id == snap.job_id,
                                           DeadLetter.status.in_(("open", "replaying")))
                  .values(status="resolved", resolved_at=utcnow()))
        if snap.kind == "ingest":
            _record_resends(s, snap, outcome.message)
        self._set_inbox(s, snap, "duplicate", {"document_ids": [existing] if existing else [],
                                               "already_seen": True, "message": str(error)})

    def _open_case(self, s: Session, snap: _Snapshot, outcome: Outcome) -> None:
        error = outcome.error
        assert error is not None
        ids = ops_hooks.open_found(s, outcome=outcome, partner_id=snap.partner_id, job_id=snap.job_id,
                                   inbox_id=snap.inbox_id, refdata=self.context.refdata)
        if ids is not None:  # scored cases, one per detection
            self._set_inbox(s, snap, "case", {"case_id": ids[0], "case_ids": ids, "error": str(error),
                                              "stage": outcome.stage})
            return
        severity = error.severity if isinstance(error, BusinessException) else "medium"
        details = error.describe() if isinstance(error, CrossdockError) else {"message": str(error)}
        code = outcome.resolution.code if outcome.resolution else "business.exception"
        case = Case(type=code, severity=severity, partner_id=snap.partner_id, inbox_id=snap.inbox_id,
                    document_id=snap.document_id, job_id=snap.job_id, summary=str(error)[:2000],
                    details={**details, "stage": outcome.stage})
        s.add(case)
        s.flush()
        self._set_inbox(s, snap, "case", {"case_id": case.id, "error": str(error), "stage": outcome.stage})

    def _dead_letter(self, s: Session, snap: _Snapshot, outcome: Outcome) -> None:
        error = outcome.error
        assert error is not None
        resolution = outcome.resolution or Resolution(Action.DEAD_LETTER, "error", "retries spent")
        details = error.describe() if isinstance(error, CrossdockError) else {"message": str(error),
                                                                               "type": type(error).__name__}
        details["reason"] = resolution.reason
        existing = s.scalar(select(DeadLetter).where(DeadLetter.job_id == snap.job_id))
        message = outcome.message
        if existing is None:
            dl = DeadLetter(job_id=snap.job_id, inbox_id=snap.inbox_id, document_id=snap.document_id,
                            partner_id=snap.partner_id or message.partner_id,
                            document_type=message.document_type, stage=outcome.stage or "unknown",
                            error_code=resolution.code, error=str(error)[:4000], details=details,
                            attempts=snap.attempts + 1)
            s.add(dl)
            s.flush()
        else:
            # The same failure again after a replay is poison: stopped and flagged, not looped.
            poisoned = existing.replay_count > 0 and existing.error_code == resolution.code \
                and existing.stage == (outcome.stage or "unknown")
            existing.stage = outcome.stage or "unknown"
            existing.error_code = resolution.code
            existing.error = str(error)[:4000]
            existing.details = details
            existing.attempts = snap.attempts + 1
            existing.status = "poisoned" if poisoned else "open"
            dl = existing
        self._set_inbox(s, snap, "failed", {"dead_letter_id": dl.id, "error": str(error),
                                            "stage": outcome.stage, "code": resolution.code,
                                            "details": details})


def _record_resends(s: Session, snap: _Snapshot, message: Message) -> None:
    """One ``resends`` row per document of this receipt the hub already had from another
    receipt (a receipt processed again finds its own documents: no resend)."""
    known = {doc.idempotency_key: (message.existing_ids[doc.idempotency_key], doc.document_type)
             for doc in message.documents if doc.idempotency_key in message.existing_ids}
    if not known:
        return
    origin = {i: inbox for i, inbox in s.execute(select(Document.id, Document.inbox_id)
                                                 .where(Document.id.in_({i for i, _ in known.values()})))}
    for document_id, document_type in known.values():
        if snap.inbox_id is None or origin.get(document_id) != snap.inbox_id:
            s.add(Resend(inbox_id=snap.inbox_id, document_id=document_id, partner_id=message.partner_id,
                         document_type=document_type))


_JOBS = cast(Table, Job.__table__)
_INBOX = cast(Table, InboxEntry.__table__)
_ATTEMPTS = cast(Table, Attempt.__table__)
_DEAD_LETTERS = cast(Table, DeadLetter.__table__)
_DOCUMENTS = cast(Table, Document.__table__)
_LOAD_JOB = select(_JOBS.c.id, _JOBS.c.kind, _JOBS.c.attempts, _JOBS.c.partner_id, _JOBS.c.inbox_id,
                   _JOBS.c.document_id, _JOBS.c.payload, _JOBS.c.created_at, _JOBS.c.status,
                   _JOBS.c.ordering_key, _JOBS.c.published_at).where(_JOBS.c.id == bindparam("id"))


class _Entry(NamedTuple):
    """The receipt's columns that ``_load`` reads (the ``inbox`` columns of these names)."""

    id: int
    partner_id: str
    channel: str
    raw: bytes | None
    blob_path: str | None
    document_type: str | None
    content_type: str | None
    filename: str | None
    correlation_id: str | None
    received_at: datetime
    meta: dict[str, Any]


# A job and, for an ingest job, its receipt: one statement (it runs for every job).
_LOAD_JOB_ENTRY = (
    select(*_LOAD_JOB.selected_columns, *(_INBOX.c[name].label(f"e_{name}") for name in _Entry._fields))
    .select_from(_JOBS.outerjoin(_INBOX, and_(_INBOX.c.id == _JOBS.c.inbox_id,
                                              _JOBS.c.kind == literal_column("'ingest'"))))
    .where(_JOBS.c.id == bindparam("id")))

# Built once: these run for every document, and building a statement costs more than running it.
# The fixed IN lists are SQL literals: an IN over parameters is "expanding", re-rendered at every execution.
_OPEN: list[Any] = [literal_column(f"'{state}'") for state in OPEN_STATES]
_FINISH_JOB = update(_JOBS).where(_JOBS.c.id == bindparam("b_job"), _JOBS.c.status.in_(_OPEN),
                                  _JOBS.c.attempts == bindparam("b_attempts"))
_INSERT_ATTEMPT = insert(_ATTEMPTS)
_SET_INBOX = update(_INBOX).where(_INBOX.c.id == bindparam("b_id"))
_RESOLVE_DEAD_LETTER = update(_DEAD_LETTERS).where(
    _DEAD_LETTERS.c.job_id == bindparam("b_job"),
    _DEAD_LETTERS.c.status.in_([literal_column("'open'"), literal_column("'replaying'")]))
# INSERT … ON CONFLICT DO NOTHING RETURNING id; [sqlite, postgresql]
_INSERT_DOCUMENT = tuple(dialect(_DOCUMENTS).on_conflict_do_nothing(index_elements=["idempotency_key"])
                         .returning(_DOCUMENTS.c.id) for dialect in (sqlite_insert, postgresql_insert))
FIND_DOCUMENT = select(_DOCUMENTS.c.id).where(_DOCUMENTS.c.idempotency_key == bindparam("key"))


def _waits_for_earlier(s: Session | Connection, job: Any) -> bool:
    """True while an older open job has the same ordering key (per-key order, both run modes).

    "Older" is by receipt, then job id, as the distributed relay orders them.
    """
    earlier = aliased(Job)
    mine, theirs = func.coalesce(job.inbox_id, 0), func.coalesce(earlier.inbox_id, 0)
    return bool(s.scalar(select(exists().where(
        earlier.ordering_key == job.ordering_key, earlier.status.in_(OPEN_STATES), earlier.id != job.id,
        or_(theirs < mine, and_(theirs == mine, earlier.id < job.id))))))


# Session advisory locks of the interchanges being read (``Processor._reading``): (space, job id)
_READING_LOCKS = 0x43444B01
_TRY_READ_LOCK = select(func.pg_try_advisory_lock(bindparam("space", type_=Integer), bindparam("job", type_=Integer)))
_READ_UNLOCK = select(func.pg_advisory_unlock(bindparam("space", type_=Integer), bindparam("job", type_=Integer)))


# The partner's first receipt not read yet, before ``inbox``: EDI replies build on each other
# (an 855 before the 856 it confirms, an 856 before the 810), so a partner's interchanges are
# read in arrival order. Only first reads are waited for: an earlier receipt that is retrying
# does not hold the partner up.
_EARLIEST_UNREAD = (select(_JOBS.c.id)
                    .where(unread(_JOBS), _JOBS.c.partner_id == bindparam("partner"),
                           _JOBS.c.inbox_id < bindparam("inbox"))
                    .order_by(_JOBS.c.inbox_id).limit(1))  # by ix_jobs_unread
