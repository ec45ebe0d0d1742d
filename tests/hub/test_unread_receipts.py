"""A partner's interchanges are read in the order they came: each one read asks for the
partner's earliest receipt still waiting. The answer, and that it comes by the partial index
of waiting receipts (``ix_jobs_unread``) rather than by stepping over every job waiting, on
SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, select

from hub.runtime.processing import _EARLIEST_UNREAD
from hub.runtime.relay import Relay
from hub.storage.db import Database
from hub.storage.tables import InboxEntry, Job, utcnow


def _seed(db: Database) -> dict[str, list[int]]:
    """Receipts of three partners, most read long ago, a backlog waiting; their inbox ids."""
    now = utcnow()
    with db.session() as s:
        entries = [{"partner_id": f"P{n % 3}", "channel": "edi-http", "sha256": f"{n:064x}", "size": 1,
                    "raw": b"x", "received_at": now, "status": "received", "meta": {}} for n in range(3000)]
        ids = list(s.scalars(insert(InboxEntry.__table__).returning(InboxEntry.__table__.c.id,
                                                                    sort_by_parameter_order=True), entries))
        jobs = []
        for n, inbox_id in enumerate(ids):
            status, attempts = ("done", 1) if n < 2400 else ("queued", 0)
            if n in (2400, 2401):  # P0's and P1's first waiting receipts are being retried: read once already
                status, attempts = "retrying", 1
            jobs.append({"kind": "ingest", "inbox_id": inbox_id, "partner_id": f"P{n % 3}", "payload": {},
                         "status": status, "attempts": attempts, "created_at": now, "next_attempt_at": now})
        s.execute(insert(Job.__table__), jobs)
        s.execute(insert(Job.__table__), [  # deliveries waiting are not receipts
            {"kind": "deliver", "inbox_id": ids[2500], "partner_id": "P1", "payload": {}, "status": "queued",
             "attempts": 0, "created_at": now, "next_attempt_at": now, "ordering_key": "P1/PO-1"}])
    by_partner: dict[str, list[int]] = {}
    for n, inbox_id in enumerate(ids):
        by_partner.setdefault(f"P{n % 3}", []).append(inbox_id)
    return {"all": ids, **by_partner}


def test_the_earliest_receipt_waiting_is_the_partners_first_not_read(db: Database) -> None:
    ids = _seed(db)
    waiting = {p: [i for n, i in enumerate(ids["all"]) if n >= 2402 and f"P{n % 3}" == p] for p in ("P0", "P1", "P2")}
    with db.read_connection() as conn:
        def earliest(partner: str, inbox: int) -> int | None:
            job = conn.execute(_EARLIEST_UNREAD, {"partner": partner, "inbox": inbox}).scalar()
            return None if job is None else conn.exec_driver_sql(
                "SELECT inbox_id FROM jobs WHERE id = %d" % job).scalar()

        last = ids["all"][-1] + 1
        for partner in ("P0", "P1", "P2"):
            assert earliest(partner, last) == waiting[partner][0]  # not the one retrying, not another's
            assert earliest(partner, waiting[partner][0]) is None  # the first waiting waits for none
            assert earliest(partner, waiting[partner][3]) == waiting[partner][0]
        assert earliest("P9", last) is None


def test_the_look_for_an_earlier_receipt_comes_by_the_index_of_waiting_ones(db: Database) -> None:
    ids = _seed(db)
    statements: list[tuple[str, Any]] = []

    def keep(_c: Any, _cur: Any, sql: str, params: Any, *_: Any) -> None:
        statements.append((sql, params))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.read_connection() as conn:
            conn.execute(_EARLIEST_UNREAD, {"partner": "P1", "inbox": ids["all"][-1]}).scalar()
        published: list[int] = []
        Relay(db, publish=lambda job_id, kind: published.append(job_id), republish_after=3600).sweep()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    with db.reader() as s:
        delivery = s.scalar(select(Job.id).where(Job.kind == "deliver"))
    assert published and delivery not in published  # the retries go; the delivery waits for P1's receipts
    looks = [(sql, params) for sql, params in statements if "attempts = 0" in sql]
    assert len(looks) == 2  # the processor's look and the relay's
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as conn:
        if not sqlite:
            conn.exec_driver_sql("ANALYZE jobs")
        for sql, params in looks:
            explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(explain + sql, params).all())
            assert "ix_jobs_unread" in plan, plan
